// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  var STATUS_LABELS = { solved: "Solved", answered: "Answered", unanswered: "Unanswered" };

  // After a failed submit, put the keyboard focus on the first field that needs fixing.
  function focusFirstError() {
    var invalid = document.querySelector("[aria-invalid='true']");
    if (invalid) {
      invalid.focus();
    }
  }

  // Open the comment box when someone follows a link to it.
  function openTargetedDetails() {
    if (!location.hash) {
      return;
    }
    var target = document.getElementById(location.hash.slice(1));
    var details = target && target.closest("details");
    if (details) {
      details.open = true;
    }
  }

  function csrfToken() {
    var meta = document.querySelector("meta[name='csrf-token']");
    return meta ? meta.content : "";
  }

  function showError(form, message) {
    var box = form.parentNode.querySelector(".action-error");
    if (!box) {
      box = document.createElement("p");
      box.className = "action-error";
      box.setAttribute("role", "alert");
      form.parentNode.insertBefore(box, form.nextSibling);
    }
    box.textContent = message;
  }

  // The JSON body of an action form: its fields (and the clicked button) minus the CSRF token.
  function formBody(form, submitter) {
    var body = {};
    new FormData(form, submitter).forEach(function (value, key) {
      if (key !== "csrf_token") {
        body[key] = /^-?\d+$/.test(value) ? parseInt(value, 10) : value;
      }
    });
    return body;
  }

  function setHidden(element, hidden) {
    if (element) {
      element.hidden = hidden;
    }
  }

  // Bring every post on the page in line with the thread as the API describes it.
  function applyThread(thread) {
    var status = document.querySelector(".thread-head [data-status]");
    if (status) {
      status.textContent = STATUS_LABELS[thread.status];
      status.className = "status status-" + thread.status;
    }
    [thread.question].concat(thread.answers).forEach(function (post) {
      var article = document.querySelector("[data-post-id='" + post.id + "']");
      if (!article) {
        return;
      }
      article.querySelectorAll("[data-score]").forEach(function (el) { el.textContent = post.score; });
      article.classList.toggle("post-accepted", post.accepted);
      if (post.kind === "answer") {
        article.setAttribute("aria-label", post.accepted ? "Accepted answer" : "Answer");
      }
      setHidden(article.querySelector("[data-accepted-mark]"), !post.accepted);
      setHidden(article.querySelector("[data-when='accepted']"), !post.accepted);
      setHidden(article.querySelector("[data-when='not-accepted']"), post.accepted);
      var endorsed = Boolean(post.endorsed);
      setHidden(article.querySelector("[data-endorsement]"), !endorsed);
      setHidden(article.querySelector("[data-when='endorsed']"), !endorsed);
      setHidden(article.querySelector("[data-when='not-endorsed']"), endorsed);
      var endorser = article.querySelector("[data-endorser]");
      if (endorser && endorsed) {
        endorser.textContent = post.endorsed.by.username;
      }
      applyRank(post.author);
    });
  }

  function applyRank(author) {
    document.querySelectorAll("[data-rank-of='" + author.id + "']").forEach(function (el) {
      el.textContent = author.rank;
      el.title = author.reputation + " reputation";
    });
  }

  // After a vote, each arrow says what pressing it again would do: vote, or take the vote back.
  function applyVote(form, vote) {
    form.querySelectorAll("[data-vote]").forEach(function (button) {
      var direction = parseInt(button.dataset.vote, 10);
      var pressed = vote.value === direction;
      button.setAttribute("aria-pressed", pressed ? "true" : "false");
      button.value = pressed ? "0" : String(direction);
    });
    applyRank(vote.author);
  }

  function refreshThread() {
    var head = document.querySelector("[data-api-thread]");
    if (!head) {
      return Promise.resolve();
    }
    return fetch(head.dataset.apiThread, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (thread) {
        if (thread) {
          applyThread(thread);
        }
      });
  }

  function submitThroughApi(event) {
    var form = event.target.closest("form[data-api-url]");
    if (!form) {
      return;
    }
    event.preventDefault();
    var method = form.dataset.apiMethod;
    var options = {
      method: method,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "Content-Type": "application/json", "X-CSRFToken": csrfToken() }
    };
    if (method !== "DELETE") {
      options.body = JSON.stringify(formBody(form, event.submitter));
    }
    fetch(form.dataset.apiUrl, options)
      .then(function (response) {
        return response.json().then(function (data) { return { ok: response.ok, data: data }; });
      })
      .then(function (result) {
        if (!result.ok) {
          showError(form, result.data.error ? result.data.error.message : "That did not work.");
          return;
        }
        showError(form, "");
        if (form.classList.contains("vote-form")) {
          applyVote(form, result.data);
        }
        return refreshThread();
      })
      .catch(function () {
        form.submit();  // the network or script failed: fall back to the plain form post
      });
  }

  // While someone types a question's title, show threads that may already answer it.
  function similarQuestions() {
    var panel = document.querySelector("[data-similar-url]");
    var title = document.getElementById("title");
    if (!panel || !title) {
      return;
    }
    var list = panel.querySelector("[data-similar-list]");
    var timer = null;
    var latest = 0;
    title.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var text = title.value.trim();
        var asked = ++latest;
        if (text.length < 4) {
          panel.hidden = true;
          return;
        }
        fetch(panel.dataset.similarUrl + "?title=" + encodeURIComponent(text), { headers: { Accept: "application/json" } })
          .then(function (response) { return response.ok ? response.json() : { items: [] }; })
          .then(function (data) {
            if (asked !== latest) {
              return;  // an answer to an older keystroke
            }
            list.textContent = "";
            data.items.forEach(function (thread) {
              var item = document.createElement("li");
              var link = document.createElement("a");
              link.href = thread.url;
              link.textContent = thread.title;
              link.dir = "auto";
              var status = document.createElement("span");
              status.className = "status status-" + thread.status;
              status.textContent = STATUS_LABELS[thread.status];
              item.appendChild(link);
              item.appendChild(document.createTextNode(" "));
              item.appendChild(status);
              list.appendChild(item);
            });
            panel.hidden = data.items.length === 0;
          })
          .catch(function () { panel.hidden = true; });
      }, 200);
    });
  }

  // live.js uses these to catch up after a dropped connection and to label a changed status
  // (it loads after this file: both are deferred, so they run in page order).
  window.community = { refreshThread: refreshThread, STATUS_LABELS: STATUS_LABELS };

  document.addEventListener("DOMContentLoaded", function () {
    focusFirstError();
    openTargetedDetails();
    similarQuestions();
    document.addEventListener("submit", submitThroughApi);
  });
})();
