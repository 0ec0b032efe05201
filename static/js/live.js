// Live updates over Socket.IO (progressive enhancement: without this file, or with the socket
// down, every page still works and a reload shows the same state). The server sends each change
// with what the page needs to show it (community/realtime.py), so no event costs a fetch;
// after a dropped connection the page catches up once from the server.
(function () {
  "use strict";

  // Defined once, in site.js (which runs first); without it a status label is left as rendered.
  var STATUS_LABELS = (window.community && window.community.STATUS_LABELS) || {};

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $all(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }
  function setHidden(element, hidden) { if (element) { element.hidden = hidden; } }

  function article(postId) { return $("[data-post-id='" + postId + "']"); }

  // Make an element from a fragment of server-rendered HTML (the same markup the page draws).
  function fromHtml(html) {
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }

  var announcer = null;
  function announce(message) {
    if (!announcer) {
      announcer = document.createElement("p");
      announcer.className = "sr-only";
      announcer.setAttribute("aria-live", "polite");
      document.body.appendChild(announcer);
    }
    announcer.textContent = message;
  }

  function applyRank(author) {
    if (!author) { return; }
    $all("[data-rank-of='" + author.id + "']").forEach(function (el) {
      el.textContent = author.rank;
      el.title = author.reputation + " reputation";
    });
  }

  function setStatus(status) {
    var label = $(".thread-head [data-status]");
    if (label && STATUS_LABELS[status]) {
      label.textContent = STATUS_LABELS[status];
      label.className = "status status-" + status;
    }
  }

  function countAnswers() {
    var heading = document.getElementById("answers-heading");
    if (heading) {
      var n = $all(".answers [data-post-id]").length;
      heading.textContent = n + (n === 1 ? " answer" : " answers");
    }
  }

  function addAnswer(html, highlight) {
    var section = $(".answers");
    var element = fromHtml(html);
    if (!section || !element || article(element.dataset.postId)) { return false; }
    if (highlight) { element.classList.add("post-new"); }
    section.appendChild(element);
    countAnswers();
    return true;
  }

  function addComment(postId, html) {
    var post = article(postId);
    var element = fromHtml(html);
    if (!post || !element || $("[data-comment-id='" + element.dataset.commentId + "']")) { return; }
    var list = $(".comment-list", post);
    if (!list) {
      list = document.createElement("ul");
      list.className = "comment-list";
      var section = $(".comments", post);
      if (!section) { return; }
      section.insertBefore(list, section.firstChild);
    }
    list.appendChild(element);
  }

  function setAccepted(acceptedId) {
    $all(".post-answer[data-post-id]").forEach(function (el) {
      var accepted = parseInt(el.dataset.postId, 10) === acceptedId;
      el.classList.toggle("post-accepted", accepted);
      el.setAttribute("aria-label", accepted ? "Accepted answer" : "Answer");
      setHidden($("[data-accepted-mark]", el), !accepted);
      setHidden($("[data-when='accepted']", el), !accepted);
      setHidden($("[data-when='not-accepted']", el), accepted);
    });
  }

  function setEndorsed(postId, endorsed) {
    var el = article(postId);
    if (!el) { return; }
    setHidden($("[data-endorsement]", el), !endorsed);
    setHidden($("[data-when='endorsed']", el), !endorsed);
    setHidden($("[data-when='not-endorsed']", el), Boolean(endorsed));
    var endorser = $("[data-endorser]", el);
    if (endorser && endorsed) {
      endorser.textContent = endorsed.by.username;
      endorser.href = endorsed.by.url;
    }
  }

  // ---- the thread page ----------------------------------------------------------------------

  var THREAD_HANDLERS = {
    "answer.created": function (data) {
      if (addAnswer(data.html, true)) {
        setStatus(data.status);
        applyRank(data.author);
        announce("New answer from " + data.author.username + ".");
      }
    },
    "comment.created": function (data) { addComment(data.post_id, data.html); },
    "post.voted": function (data) {
      var el = article(data.post_id);
      if (el) { $all("[data-score]", el).forEach(function (s) { s.textContent = data.score; }); }
      applyRank(data.author);
    },
    "answer.accepted": function (data) {
      setAccepted(data.accepted_answer_id);
      setStatus(data.status);
      data.authors.forEach(applyRank);
    },
    "answer.endorsed": function (data) { setEndorsed(data.post_id, data.endorsed); applyRank(data.author); },
    "post.edited": function (data) {
      var el = article(data.post_id);
      var body = el && $(".post-body", el);
      if (body) { body.innerHTML = data.body_html; }  // the server's sanitized HTML, as drawn on the page
      if (data.title) { $(".thread-head h1").textContent = data.title; }
    },
    "thread.updated": function (data) {
      $(".thread-head h1").textContent = data.title;
      setStatus(data.status);
    }
  };
  THREAD_HANDLERS["answer.unaccepted"] = THREAD_HANDLERS["answer.accepted"];

  // Moderation: hidden content leaves a member's page at once; staff keep it, marked.
  function seesHidden() { return Boolean($("[data-sees-hidden]")); }
  function takeAway(element, what) {
    if (!element) { return; }
    if (seesHidden()) { element.classList.add("moderation-hidden-live"); return; }
    element.remove();
    announce(what + " was removed by moderators.");
  }
  THREAD_HANDLERS["post.hidden"] = function (data) {
    takeAway(article(data.post_id), "An answer");
    countAnswers();
    setStatus(data.status);
  };
  THREAD_HANDLERS["comment.hidden"] = function (data) {
    takeAway($("[data-comment-id='" + data.comment_id + "']"), "A comment");
  };
  THREAD_HANDLERS["thread.hidden"] = function () {
    if (seesHidden()) { return; }
    var main = $(".thread-head") && $(".thread-head").parentNode;
    if (main) {
      main.textContent = "";
      var notice = document.createElement("p");
      notice.className = "notice";
      notice.setAttribute("data-thread-removed", "");
      notice.textContent = "This thread was removed by moderators.";
      main.appendChild(notice);
    }
  };
  THREAD_HANDLERS["post.restored"] = function (data) {
    var el = article(data.post_id);
    if (el) { el.classList.remove("moderation-hidden-live"); } else { addAnswer(data.html, false); }
    setStatus(data.status);
  };
  THREAD_HANDLERS["comment.restored"] = function (data) {
    var el = $("[data-comment-id='" + data.comment_id + "']");
    if (el) { el.classList.remove("moderation-hidden-live"); } else { addComment(data.post_id, data.html); }
  };

  // ---- the moderation queue: say that it changed (a reload shows it) ---------------------------

  function queueUpdates(bar) {
    return function (name, data) {
      if (name === "flag.resolved") {
        data.flag_ids.forEach(function (id) {
          var item = $("[data-flag-ids~='" + id + "']");
          if (item) { item.remove(); }
        });
        return;
      }
      bar.textContent = "";
      var link = document.createElement("a");
      link.href = location.pathname + location.search;
      link.textContent = "New flags: show";
      bar.appendChild(link);
      bar.hidden = false;
    };
  }
  // ---- the triage queue: claims and items that left change in place; new ones offer a reload

  function triageUpdates(bar) {
    return function (name, data) {
      var item = $("[data-triage-thread='" + data.thread_id + "']");
      if (name === "triage.left") { if (item) { item.classList.add("triage-left"); item.setAttribute("aria-disabled", "true"); } return; }
      if (name === "triage.claimed" || name === "triage.released") {
        var note = item ? $("[data-triage-claim]", item) : null;
        if (note) { note.textContent = data.claimed_by ? "Claimed by " + data.claimed_by.username + "." : "Not claimed."; }
        return;
      }
      if (item) { return; }
      bar.textContent = "";
      var link = document.createElement("a");
      link.href = location.pathname + location.search;
      link.textContent = "New in the queue: " + data.title + " (show)";
      bar.appendChild(link);
      bar.hidden = false;
    };
  }
  THREAD_HANDLERS["answer.unendorsed"] = THREAD_HANDLERS["answer.endorsed"];

  // After a reconnect: take what we missed from the page as the server draws it now (answers
  // and comments, with this user's own buttons), then scores and marks from the JSON API.
  function catchUpThread(threadId) {
    fetch(location.pathname, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : ""; })
      .then(function (html) {
        if (!html) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html");
        $all(".answers [data-post-id]", fresh).forEach(function (el) { addAnswer(el.outerHTML, true); });
        $all("[data-comment-id]", fresh).forEach(function (el) {
          var post = el.closest("[data-post-id]");
          if (post) { addComment(post.dataset.postId, el.outerHTML); }
        });
        if (window.community && window.community.refreshThread) {
          return window.community.refreshThread();
        }
        return fetch("/api/v1/threads/" + threadId, { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (thread) { if (thread) { setAccepted(thread.accepted_answer_id); setStatus(thread.status); } });
      })
      .catch(function () { /* the next reconnect tries again */ });
  }

  // ---- list pages: "n new questions" --------------------------------------------------------

  function newThreadsBar(bar) {
    var ids = {};
    var tag = bar.dataset.liveTag;
    return function (data) {
      if (tag && data.tags.indexOf(tag) === -1) { return; }  // a tag page counts its own tag only
      ids[data.thread_id] = true;
      var n = Object.keys(ids).length;
      bar.textContent = "";
      var link = document.createElement("a");
      link.href = location.pathname + location.search;
      link.textContent = n + (n === 1 ? " new question" : " new questions") + ": show";
      bar.appendChild(link);
      bar.hidden = false;
    };
  }

  // ---- the bell -----------------------------------------------------------------------------

  function updateBell(data) {
    $all("[data-unread-count]").forEach(function (el) {
      el.textContent = data.unread_count;
      el.hidden = data.unread_count === 0;
    });
    var bell = $("[data-notifications]");
    if (bell) { bell.setAttribute("aria-label", data.unread_count + " unread notifications"); }
    announce(data.text);
  }

  function start() {
    if (typeof window.io !== "function") { return; }
    var head = $("[data-thread-id]");
    var bar = $("[data-live-lists]");
    var bell = $("[data-notifications]");
    var queue = $("[data-live-queue]");
    var triage = $("[data-live-triage]");
    if (!head && !bar && !bell && !queue && !triage) { return; }
    var threadId = head ? parseInt(head.dataset.threadId, 10) : null;
    var socket = window.io({ reconnectionDelayMax: 10000 });
    var connectedBefore = false;
    window.community = window.community || {};
    window.community.live = socket;  // for the browser tests, and for poking at in devtools

    socket.on("connect", function () {
      // A new connection is a new server-side session: rooms are joined again every time.
      if (threadId) { socket.emit("join", { thread: threadId }); }
      if (bar) { socket.emit("join", { room: "lists" }); }
      if (queue) { socket.emit("join", { room: "moderation" }); }
      if (triage) { socket.emit("join", { room: "triage" }); }
      if (connectedBefore && threadId) { catchUpThread(threadId); }
      connectedBefore = true;
      document.documentElement.dataset.live = "connected";
    });
    socket.on("disconnect", function () { document.documentElement.dataset.live = "disconnected"; });

    if (threadId) {
      Object.keys(THREAD_HANDLERS).forEach(function (name) {
        socket.on(name, function (data) {
          if (data && data.thread_id === threadId) { THREAD_HANDLERS[name](data); }
        });
      });
    }
    if (bar) { socket.on("thread.created", newThreadsBar(bar)); }
    socket.on("notification.created", updateBell);
    if (queue) {
      var onQueue = queueUpdates(queue);
      ["post.flagged", "flag.resolved"].forEach(function (name) {
        socket.on(name, function (data) { onQueue(name, data); });
      });
    }
    if (triage) {
      var onTriage = triageUpdates(triage);
      ["triage.entered", "triage.left", "triage.claimed", "triage.released"].forEach(function (name) {
        socket.on(name, function (data) { onTriage(name, data); });
      });
    }
  }

  document.addEventListener("DOMContentLoaded", start);
})();
