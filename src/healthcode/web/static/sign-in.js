// The sign-in page: ID number + phone -> a one-time code by SMS -> a session for this tab.
import { setup, t } from "/static/i18n.js";
import { WORDS, api, explain, largeType, session } from "/static/citizen-words.js";

const $ = (id) => document.getElementById(id);
const showLarge = largeType(t);
setup(WORDS, showLarge);
showLarge();

let challenge = null;
const fail = (error) => { $("error").textContent = explain(t, error); };

$("ask").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("error").textContent = "";
  const id_number = $("id_number").value.trim().toUpperCase();
  const phone = $("phone").value.trim();
  if (!id_number || !phone) return fail({ code: "FIELD_MISSING" });
  try {
    challenge = (await api("/v1/sign-in/code", { method: "POST", body: { id_number, phone } })).challenge;
    $("verify").hidden = false;
    $("code").focus();
  } catch (error) { fail(error); }
});

$("verify").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("error").textContent = "";
  try {
    const answer = await api("/v1/sign-in", { method: "POST", body: { challenge, code: $("code").value.trim() } });
    session.set(answer.session);
    location.assign("/code");
  } catch (error) { fail(error); }
});

$("again").addEventListener("click", () => {
  $("verify").hidden = true;
  $("code").value = "";
  $("id_number").focus();
});
