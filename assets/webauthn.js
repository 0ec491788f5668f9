// Runs the WebAuthn ceremony a page describes (the options in the form's
// data-options attribute, JSON), puts the browser's answer in the form's `credential`
// input, and posts the form. No build step: plain script, served as is.
(function () {
  "use strict";
  const form = document.getElementById("webauthn-form");
  const start = document.getElementById("webauthn-start");
  const status = document.getElementById("webauthn-status");
  if (!form || !start || !status) return;
  const creating = form.dataset.mode === "create";

  function toBytes(text) {
    let b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    const binary = atob(b64);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toText(buffer) {
    const bytes = new Uint8Array(buffer);
    let binary = "";
    for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function say(text) {
    status.textContent = text;
    status.hidden = false;
  }

  if (!window.PublicKeyCredential || !navigator.credentials) {
    say("This browser cannot use security keys or passkeys. Use an up-to-date browser, or go back and use another way to verify.");
    start.disabled = true;
    return;
  }

  const options = JSON.parse(form.dataset.options).publicKey;
  options.challenge = toBytes(options.challenge);
  if (creating) {
    options.user.id = toBytes(options.user.id);
    (options.excludeCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
  } else {
    (options.allowCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
  }

  async function run() {
    start.disabled = true;
    status.hidden = true;
    try {
      const credential = creating
        ? await navigator.credentials.create({ publicKey: options })
        : await navigator.credentials.get({ publicKey: options });
      const r = credential.response;
      const answer = {
        id: credential.id,
        rawId: toText(credential.rawId),
        type: credential.type,
        extensions: {},
        response: creating
          ? { attestationObject: toText(r.attestationObject), clientDataJSON: toText(r.clientDataJSON) }
          : {
              authenticatorData: toText(r.authenticatorData),
              clientDataJSON: toText(r.clientDataJSON),
              signature: toText(r.signature),
              userHandle: r.userHandle ? toText(r.userHandle) : null,
            },
      };
      form.elements.credential.value = JSON.stringify(answer);
      form.submit();
    } catch (err) {
      const cancelled = err && (err.name === "NotAllowedError" || err.name === "AbortError");
      say(cancelled
        ? "Nothing was received from a key: the request was cancelled or timed out. Press the button to try again."
        : "That did not work (" + ((err && err.message) || err) + "). Press the button to try again.");
      start.disabled = false;
    }
  }

  start.addEventListener("click", run);
  if (form.dataset.autostart === "true") run();
})();
