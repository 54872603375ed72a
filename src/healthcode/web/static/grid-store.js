// What the grid worker's page keeps on the device (localStorage, so that it survives a reload
// or a restart without a network): the staff token, the last tasks fetched, the actions not
// yet sent (the queue) and those the province refused. An action carries a client-generated
// id (action_id): sending it again is harmless, the province applies it once.
const K = { token: "hc-grid-token", tasks: "hc-grid-tasks", queue: "hc-grid-queue", refused: "hc-grid-refused" };

const read = (key, empty) => {
  try { return JSON.parse(localStorage.getItem(key)) ?? empty; } catch { return empty; }
};
const write = (key, value) => localStorage.setItem(key, JSON.stringify(value));

export const store = {
  token: () => localStorage.getItem(K.token),
  setToken: (token) => localStorage.setItem(K.token, token),
  tasks: () => read(K.tasks, { at: null, me: null, tasks: [] }),
  setTasks: (me, tasks) => write(K.tasks, { at: new Date().toISOString(), me, tasks }),
  queue: () => read(K.queue, []),
  refused: () => read(K.refused, []),
  setRefused: (list) => write(K.refused, list),
  clear() { for (const key of Object.values(K)) localStorage.removeItem(key); },
};

function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// Queue an action: {task_id, kind: "state", body: {state, note}}; written before anything is
// sent, so closing the page or losing the network loses nothing.
export function enqueue(task_id, body) {
  const action = { id: newId(), task_id, body: { ...body, action_id: null }, at: new Date().toISOString() };
  action.body.action_id = action.id;
  write(K.queue, [...store.queue(), action]);
  return action;
}

function drop(id) {
  write(K.queue, store.queue().filter((a) => a.id !== id));
}

// Send the queued actions in order. A network failure, a busy province (5xx, 429) or an
// expired token stops the run and keeps the rest for later; a refusal (another 4xx) moves the
// action to the refused list, shown to the worker. Answers {sent, refused, stopped, answers}.
let running = null;
export function flush(send) {
  running ??= run(send).finally(() => { running = null; });
  return running;
}

async function run(send) {
  const out = { sent: 0, refused: 0, stopped: null, answers: [] };
  for (const action of store.queue()) {
    let response;
    try {
      response = await send(action);
    } catch {
      out.stopped = "network";
      break;
    }
    if (response.ok) {
      drop(action.id);
      out.sent += 1;
      out.answers.push(await response.json());
      continue;
    }
    if (response.status === 401 || response.status === 429 || response.status >= 500) {
      out.stopped = response.status === 401 ? "token" : "busy";
      break;
    }
    let code = `HTTP_${response.status}`;
    try { code = (await response.json()).error.code; } catch { /* keep the status */ }
    drop(action.id);
    store.setRefused([...store.refused(), { ...action, code }]);
    out.refused += 1;
  }
  return out;
}
