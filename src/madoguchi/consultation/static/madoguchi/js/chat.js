// Progressive enhancement of the consultation chat (/<slug>/chat/).
// Without this file every button is an ordinary form post; with it the same forms are sent
// with fetch and the server's re-rendered (escaped) conversation replaces the log.
(function () {
  "use strict";
  var root = document.querySelector("[data-chat]");
  if (!root || !window.fetch || !window.FormData) {
    return;
  }
  var log = document.getElementById("chat-log");
  var url = root.getAttribute("data-chat-url");
  var busy = false;
  var pollTimer = null;

  function show(html) {
    log.innerHTML = html;
    var latest = document.getElementById("latest");
    if (latest) {
      latest.scrollIntoView({ block: "nearest" });
    }
    schedulePoll();
  }

  function send(form, submitter) {
    if (busy) {
      return;
    }
    var data = new FormData(form);
    if (submitter && submitter.name) {
      data.append(submitter.name, submitter.value);
    }
    busy = true;
    fetch(url, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" }
    })
      .then(function (response) {
        return response.json().then(function (body) {
          return { ok: response.ok, body: body };
        });
      })
      .then(function (result) {
        show(result.body.html);
        var question = document.getElementById("chat-question");
        if (result.ok && question && form.contains(question)) {
          question.value = "";
          question.focus();
        } else if (!document.body.contains(form)) {
          // The pressed button went with the old log: continue from the newest message,
          // not from the top of the page.
          var latest = document.getElementById("latest");
          if (latest) {
            latest.setAttribute("tabindex", "-1");
            latest.focus();
          }
        }
      })
      .catch(function () {
        form.submit();
      })
      .then(function () {
        busy = false;
      });
  }

  function schedulePoll() {
    var list = log.querySelector("[data-waiting]");
    if (pollTimer) {
      window.clearTimeout(pollTimer);
      pollTimer = null;
    }
    if (list && list.getAttribute("data-waiting") === "1") {
      pollTimer = window.setTimeout(poll, 15000);
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (response) {
        return response.json();
      })
      .then(function (body) {
        show(body.html);
      })
      .catch(function () {
        schedulePoll();
      });
  }

  root.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-chat-form")) {
      return;
    }
    event.preventDefault();
    send(form, event.submitter);
  });
  root.setAttribute("data-enhanced", "1");
  schedulePoll();
})();
