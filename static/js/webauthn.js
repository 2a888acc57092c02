// Security keys and passkeys (WebAuthn). A form with data-webauthn="create" or "get" and a
// button [data-webauthn-start]: the options come from data-options-url (POST, CSRF token of the
// form), the browser asks the key, its answer goes into the form's "credential" field and the
// form is submitted; the server verifies everything.
(function () {
  "use strict";

  function toBytes(base64url) {
    var base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    var text = atob(base64 + "===".slice((base64.length + 3) % 4));
    return Uint8Array.from(text, function (c) { return c.charCodeAt(0); }).buffer;
  }
  function toBase64url(buffer) {
    var text = String.fromCharCode.apply(null, new Uint8Array(buffer));
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function creationOptions(json) {
    if (window.PublicKeyCredential && PublicKeyCredential.parseCreationOptionsFromJSON) {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    json.challenge = toBytes(json.challenge);
    json.user.id = toBytes(json.user.id);
    (json.excludeCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
    return json;
  }
  function requestOptions(json) {
    if (window.PublicKeyCredential && PublicKeyCredential.parseRequestOptionsFromJSON) {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    json.challenge = toBytes(json.challenge);
    (json.allowCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
    return json;
  }
  function credentialJSON(credential) {
    if (credential.toJSON) { return credential.toJSON(); }
    var response = {};
    ["clientDataJSON", "attestationObject", "authenticatorData", "signature", "userHandle"].forEach(function (name) {
      if (credential.response[name]) { response[name] = toBase64url(credential.response[name]); }
    });
    return { id: credential.id, rawId: toBase64url(credential.rawId), type: credential.type, response: response,
             clientExtensionResults: credential.getClientExtensionResults() };
  }

  document.querySelectorAll("form[data-webauthn]").forEach(function (form) {
    var button = form.querySelector("[data-webauthn-start]");
    var status = form.querySelector(".webauthn-status");
    var mode = form.getAttribute("data-webauthn");
    function say(key) { if (status) { status.textContent = status.getAttribute(key) || ""; } }
    if (!window.PublicKeyCredential || !navigator.credentials) {
      button.disabled = true;
      say("data-unsupported");
      return;
    }
    button.addEventListener("click", function () {
      var name = form.querySelector("input[name=name]");
      if (name && !name.value.trim()) { say("data-name-missing"); name.focus(); return; }
      var token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
      fetch(form.getAttribute("data-options-url"), {
        method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": token, "Accept": "application/json" }
      }).then(function (response) {
        // Asked to confirm who they are first (a stale sign-in): go there, then come back.
        if (response.redirected) { window.location.assign(response.url); return new Promise(function () {}); }
        if (!response.ok) { throw new Error("options"); }
        return response.json();
      }).then(function (data) {
        var publicKey = JSON.parse(data.publicKey);
        return mode === "create"
          ? navigator.credentials.create({ publicKey: creationOptions(publicKey) })
          : navigator.credentials.get({ publicKey: requestOptions(publicKey) });
      }).then(function (credential) {
        form.querySelector("input[name=credential]").value = JSON.stringify(credentialJSON(credential));
        form.submit();
      }).catch(function () { say("data-failed"); });
    });
  });
})();
