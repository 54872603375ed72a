"""The verifier: one pipeline of small stages for native codes, EU DCC and SMART Health Cards."""
