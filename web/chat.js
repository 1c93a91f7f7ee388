/* Policyholder chat page. Talks to the Rasa web channel (bot/channels/web.py)
 * over socket.io; the wire format is in docs/chat-channels.md.
 * Message text is only ever inserted with textContent, never as HTML. */
(function () {
  "use strict";

  var STORAGE_KEY = "complaints-web-chat.session";
  // The bot answers within seconds; this only covers a lost `bot_done`.
  var TYPING_TIMEOUT_MS = 60000;
  var LABEL_BOT = "智能助手";
  var LABEL_AGENT = "人工客服";
  // Room above a long answer scrolled to its start (the list's top padding).
  var MESSAGE_GAP_PX = 8;

  var els = {
    status: document.getElementById("status"),
    messages: document.getElementById("messages"),
    typing: document.getElementById("typing"),
    composer: document.getElementById("composer"),
    input: document.getElementById("input"),
    newConversation: document.getElementById("new-conversation"),
  };
  var storage = pickStorage();
  var state = {
    sessionId: storage.get(STORAGE_KEY),
    confirmed: false,
    historyLoaded: false,
    buffer: [], // live messages that arrive while the history loads
    outbox: [], // messages typed while offline
    rendered: new Set(),
    typingTimer: null,
  };
  if (!state.sessionId) {
    state.sessionId = newUuid();
    storage.set(STORAGE_KEY, state.sessionId);
  }
  // Opened from an SMS notice's link (?n=<token>): the server shows that notice once the session is
  // confirmed. The token leaves the address bar, so that a reload or a shared screenshot does not carry it.
  var noticeToken = readNoticeToken();

  function readNoticeToken() {
    try {
      var url = new URL(window.location.href);
      var token = url.searchParams.get("n");
      if (token === null) return null;
      url.searchParams.delete("n");
      window.history.replaceState(null, "", url.pathname + url.search + url.hash);
      return token.slice(0, 64);
    } catch (e) {
      return null;
    }
  }

  // localStorage can be unavailable (privacy modes, some third-party iframes):
  // the conversation then lasts as long as the page.
  function pickStorage() {
    try {
      var probe = "complaints-web-chat.probe";
      window.localStorage.setItem(probe, "1");
      window.localStorage.removeItem(probe);
      return {
        get: function (key) { return window.localStorage.getItem(key); },
        set: function (key, value) { window.localStorage.setItem(key, value); },
      };
    } catch (error) {
      var memory = {};
      return {
        get: function (key) { return memory[key] || null; },
        set: function (key, value) { memory[key] = value; },
      };
    }
  }

  // The session id is the conversation's secret: always cryptographically random.
  function newUuid() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    // randomUUID needs a secure context; getRandomValues does not.
    var bytes = window.crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) {
      return (b + 0x100).toString(16).slice(1);
    }).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function setStatus(kind, text) {
    els.status.className = "status " + kind;
    els.status.textContent = text;
  }

  // To the end, unless an answer of this turn (since the user's last message)
  // is taller than the view: then to its start, where reading begins on a phone.
  function scrollToEnd() {
    var list = els.messages;
    var end = list.scrollHeight - list.clientHeight;
    var tall = null;
    for (var node = list.lastElementChild; node && node.classList.contains("message"); node = node.previousElementSibling) {
      if (node.classList.contains("from-user")) break;
      if (node.offsetHeight > list.clientHeight) tall = node;
    }
    if (tall) {
      var start = list.scrollTop + tall.getBoundingClientRect().top - list.getBoundingClientRect().top - MESSAGE_GAP_PX;
      end = Math.min(end, Math.max(0, start));
    }
    list.scrollTop = end;
  }

  function agentLabel(agent) {
    var name = agent && typeof agent.name === "string" ? agent.name.trim() : "";
    return name ? LABEL_AGENT + " · " + name : LABEL_AGENT;
  }

  // Messages with a server timestamp are kept in time order; local ones
  // (just typed, no timestamp yet) stay at the end.
  function insert(node, timestamp) {
    if (typeof timestamp === "number") {
      var items = els.messages.querySelectorAll(".message[data-ts]");
      for (var i = 0; i < items.length; i++) {
        if (Number(items[i].getAttribute("data-ts")) > timestamp) {
          els.messages.insertBefore(node, items[i]);
          return;
        }
      }
    }
    els.messages.appendChild(node);
  }

  // Buttons answer the latest question only.
  function refreshQuickReplies() {
    var items = els.messages.querySelectorAll(".message");
    for (var i = 0; i < items.length; i++) {
      var replies = items[i].querySelector(".quick-replies");
      if (replies) replies.hidden = i !== items.length - 1;
    }
  }

  // Messages have Rasa's shape (text, quick_replies); the channel's id,
  // sender, timestamp and agent are in `metadata`.
  function render(message) {
    var meta = message && message.metadata && typeof message.metadata === "object" ? message.metadata : {};
    if (!message || typeof message.text !== "string" || typeof meta.id !== "string" || state.rendered.has(meta.id)) return;
    state.rendered.add(meta.id);
    var sender = meta.sender === "user" || meta.sender === "agent" ? meta.sender : "bot";
    var node = element("div", "message from-" + sender);
    node.setAttribute("data-id", meta.id);
    if (typeof meta.timestamp === "number") node.setAttribute("data-ts", String(meta.timestamp));
    if (sender !== "user") {
      node.appendChild(element("div", "message-label", sender === "agent" ? agentLabel(meta.agent) : LABEL_BOT));
    }
    node.appendChild(element("div", "bubble", typeof message.text === "string" ? message.text : ""));
    var replies = Array.isArray(message.quick_replies) ? message.quick_replies : [];
    if (replies.length) {
      var group = element("div", "quick-replies");
      replies.forEach(function (reply) {
        if (!reply || typeof reply.title !== "string" || typeof reply.payload !== "string") return;
        var button = element("button", null, reply.title);
        button.type = "button";
        button.addEventListener("click", function () { send(reply.payload, reply.title); });
        group.appendChild(button);
      });
      node.appendChild(group);
    }
    insert(node, meta.timestamp);
    refreshQuickReplies();
    scrollToEnd();
  }

  function clearMessages() {
    els.messages.textContent = "";
    els.messages.appendChild(element("p", "intro",
      "您好，请直接输入您的问题，例如“我要投诉”“理赔需要什么材料”“查询投诉进度”“转人工”。"));
    state.rendered = new Set();
    state.buffer = [];
  }

  function showTyping() {
    els.typing.hidden = false;
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(hideTyping, TYPING_TIMEOUT_MS);
    scrollToEnd();
  }

  function hideTyping() {
    clearTimeout(state.typingTimer);
    els.typing.hidden = true;
  }

  function transmit(packet) {
    packet.session_id = state.sessionId;
    socket.emit("user_uttered", packet);
    var node = els.messages.querySelector('.message[data-id="' + packet.message_id + '"]');
    if (node) node.classList.remove("pending");
  }

  function flushOutbox() {
    var queued = state.outbox;
    state.outbox = [];
    queued.forEach(transmit);
    if (queued.length) showTyping();
  }

  function send(text, title) {
    text = text.trim();
    if (!text) return;
    var id = newUuid().replace(/-/g, "");
    render({ text: title || text, metadata: { id: id, sender: "user" } });
    var packet = { message: text, message_id: id };
    if (title) packet.metadata = { button_title: title };
    if (socket.connected && state.confirmed && state.historyLoaded) {
      transmit(packet);
      showTyping();
    } else {
      state.outbox.push(packet);
      var node = els.messages.querySelector('.message[data-id="' + id + '"]');
      if (node) node.classList.add("pending");
    }
  }

  // After a reload or a reconnect: whatever this page has not shown yet,
  // including messages sent while the connection was down.
  function loadHistory() {
    var sessionId = state.sessionId;
    state.historyLoaded = false;
    els.messages.setAttribute("aria-busy", "true");
    fetch("history", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ session_id: sessionId }),
      cache: "no-store",
      credentials: "omit",
    })
      .then(function (response) {
        if (!response.ok) throw new Error("history " + response.status);
        return response.json();
      })
      .then(function (data) {
        if (sessionId === state.sessionId && data && Array.isArray(data.messages)) {
          data.messages.forEach(render);
        }
      })
      .catch(function () { /* live messages still arrive; the next reconnect retries */ })
      .then(function () {
        if (sessionId !== state.sessionId) return;
        state.historyLoaded = true;
        els.messages.setAttribute("aria-busy", "false");
        var buffered = state.buffer;
        state.buffer = [];
        buffered.forEach(render);
        flushOutbox();
        if (noticeToken !== null && state.confirmed) {
          socket.emit("open_notice", { token: noticeToken });
          noticeToken = null;
        }
      });
  }

  var socket = io({
    path: document.querySelector('meta[name="chat-socketio-path"]').getAttribute("content"),
    transports: ["websocket", "polling"],
    tryAllTransports: true,
    reconnectionDelayMax: 10000,
  });

  socket.on("connect", function () {
    setStatus("online", "在线");
    state.confirmed = false;
    socket.emit("session_request", { session_id: state.sessionId });
  });

  socket.on("session_confirm", function (sessionId) {
    if (typeof sessionId !== "string") return;
    if (sessionId !== state.sessionId) {
      // The server replaced an id it does not accept: a new conversation.
      state.sessionId = sessionId;
      storage.set(STORAGE_KEY, sessionId);
      clearMessages();
    }
    state.confirmed = true;
    loadHistory();
  });

  socket.on("bot_uttered", function (message) {
    if (state.historyLoaded) {
      render(message);
    } else {
      state.buffer.push(message);
    }
  });

  socket.on("bot_done", hideTyping);

  // A message the server could not place (no or another session): ask for the session again.
  socket.on("error", function () {
    hideTyping();
    if (socket.connected) {
      state.confirmed = false;
      socket.emit("session_request", { session_id: state.sessionId });
    }
  });

  socket.on("disconnect", function () {
    state.confirmed = false;
    hideTyping();
    setStatus("offline", "连接已断开，正在重新连接…");
  });

  socket.on("connect_error", function () {
    setStatus("offline", "暂时无法连接，正在重试…");
  });

  els.composer.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = els.input.value;
    if (!text.trim()) return;
    els.input.value = "";
    resizeInput();
    send(text);
    els.input.focus();
  });

  els.input.addEventListener("keydown", function (event) {
    // Enter sends; Shift+Enter is a new line; Enter that confirms an IME
    // candidate (pinyin input) must not send.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      els.composer.requestSubmit ? els.composer.requestSubmit() : els.composer.dispatchEvent(new Event("submit"));
    }
  });

  function resizeInput() {
    els.input.style.height = "auto";
    els.input.style.height = Math.min(els.input.scrollHeight + 2, 140) + "px";
  }
  els.input.addEventListener("input", resizeInput);

  els.newConversation.addEventListener("click", function () {
    if (!window.confirm("开始新对话后，本页将不再显示当前的对话记录。确定吗？")) return;
    state.sessionId = newUuid();
    storage.set(STORAGE_KEY, state.sessionId);
    state.outbox = [];
    hideTyping();
    clearMessages();
    if (socket.connected) {
      state.confirmed = false;
      socket.emit("session_request", { session_id: state.sessionId });
    }
  });

  clearMessages();
})();
