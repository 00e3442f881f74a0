// The chat page: one BetrueWs connection (to the first server of a list, the next one when it drops);
// commands over it, pushes from it. No framework, no build step.
import { BetrueWs } from "betrue-ws";
import { describe, fieldErrors, humanBytes, humanWait } from "./format.js";

const $ = (id) => document.getElementById(id);
const page = document.body.dataset;
const servers = JSON.parse(page.servers || "[]");
const ws = new BetrueWs(servers.length ? servers : [page.wsPath || "/ws"]);
const MAX_IMAGE = Number(page.maxImage) || 5 * 1024 * 1024;
const PAGE_SIZE = 50; // messages per history page ("Load older")

const state = {
  user: sessionStorage.getItem("chat.user"),
  token: sessionStorage.getItem("chat.token"), // the bearer token user/login answered
  images: new Map(), // attachment id -> object URL, fetched once
  room: sessionStorage.getItem("chat.room") || "general",
  joined: null, // the room this connection is in
  ready: false, // logged in and joined on the current connection: the outbox may be sent
  messages: [], // of the current room, sorted by id
  hasOlder: false,
  stick: true, // the list follows new messages (false while the user reads older ones)
  outbox: JSON.parse(sessionStorage.getItem("chat.outbox") || "[]"), // typed, not yet acknowledged, in order
  flushing: false,
};
window.chat = { ws, state }; // handy in the console (and for tests)

// -- connection ------------------------------------------------------------------------------------

ws.onOpen(async () => {
  setStatus("open", "online");
  if (!state.token) return showLogin();
  try {
    // After a reload or a reconnect: the token logs this new connection in; no password again.
    await ws.call("_auth/identify", { token: state.token });
  } catch (error) {
    if (error.code === 401 || error.code === 403) {
      forget({ keepOutbox: true });
      return showLogin();
    }
    return; // the connection dropped again: the next one tries again
  }
  await enter({ user: state.user, token: state.token });
});

ws.on("auth.expired", () => {
  forget({ keepOutbox: true }); // the token ran out: log in again; what was typed waits for it
  showLogin();
});

ws.onClose(({ reconnecting }) => {
  state.joined = null;
  state.ready = false;
  setStatus(reconnecting ? "connecting" : "closed", reconnecting ? "reconnecting…" : "offline");
  showQueued();
});

ws.on("chat.message", (message) => {
  if (message.room === state.room) addMessages([message]);
});

ws.on("chat.presence", (presence) => {
  if (presence.room === state.room) {
    renderUsers(presence.users);
    if (presence.user !== state.user) notice(`${presence.user} ${presence.online ? "joined" : "left"}`);
  }
  loadRooms().catch(() => {});
});

ws.on("chat.room", () => loadRooms().catch(() => {}));

// -- session ---------------------------------------------------------------------------------------

async function enter({ user, token }) {
  state.user = user;
  state.token = token;
  sessionStorage.setItem("chat.user", user);
  sessionStorage.setItem("chat.token", token);
  $("me").textContent = user;
  $("logout").hidden = false;
  state.outbox = state.outbox.filter((item) => item.user === user); // never sent in someone else's name
  saveOutbox();
  $("app").hidden = false;
  await switchRoom(state.room);
}

function forget({ keepOutbox = false } = {}) {
  state.user = state.token = null;
  for (const key of ["chat.user", "chat.token"]) sessionStorage.removeItem(key);
  if (!keepOutbox) {
    state.outbox = [];
    sessionStorage.removeItem("chat.outbox");
  }
}

function showLogin() {
  $("app").hidden = true;
  $("logout").hidden = true;
  if (!$("login").open) $("login").showModal();
}

// -- rooms and history -----------------------------------------------------------------------------

async function switchRoom(room) {
  state.ready = false;
  if (state.joined && state.joined !== room) {
    await ws.call("chat/leave", { room: state.joined });
    state.joined = null;
  }
  const joined = await ws.call("chat/join", { room });
  state.joined = room;
  if (room !== state.room || !state.messages.length) {
    state.messages = [];
    $("messages").replaceChildren(olderButton());
  }
  state.room = room;
  sessionStorage.setItem("chat.room", room);
  $("room-title").textContent = `#${room}`;
  renderUsers(joined.users);
  const { messages } = await ws.call("chat/history", { room, limit: PAGE_SIZE });
  if (!state.messages.length) state.hasOlder = messages.length === PAGE_SIZE;
  addMessages(messages); // after a reconnect: only those missed meanwhile are new
  renderPending();
  state.ready = true;
  flush();
  await loadRooms();
}

async function loadOlder() {
  if (!state.messages.length) return;
  const { messages } = await ws.call("chat/history", { room: state.room, limit: PAGE_SIZE, before: state.messages[0].id });
  state.hasOlder = messages.length === PAGE_SIZE;
  addMessages(messages, { older: true });
}

async function loadRooms() {
  const { rooms } = await ws.call("chat/rooms");
  $("rooms").replaceChildren(
    ...rooms.map(({ name, online }) => {
      const link = element("a", { href: `#${name}`, "data-testid": `room-${name}` }, [
        element("span", {}, [`# ${name}`]),
        element("span", { class: "count", title: "online" }, [online ? String(online) : ""]),
      ]);
      if (name === state.room) link.setAttribute("aria-current", "true");
      link.addEventListener("click", (event) => {
        event.preventDefault();
        if (name !== state.room) switchRoom(name).catch(showError);
      });
      return element("li", {}, [link]);
    }),
  );
}

// -- the outbox: what was typed, sent in order once this connection is in its room ------------------

function queue(room, text, file) {
  const key = globalThis.crypto?.randomUUID?.() ?? `${Date.now()}-${Math.random()}`;
  const after = state.messages.length ? state.messages[state.messages.length - 1].id : 0;
  const item = { key, user: state.user, room, text, after, file, fileName: file?.name };
  state.outbox.push(item);
  saveOutbox();
  if (room === state.room) $("messages").append(renderPendingItem(item));
  state.stick = true;
  scrollToBottom();
  flush();
}

async function flush() {
  if (state.flushing) return;
  state.flushing = true;
  let interrupted = false;
  try {
    while (state.ready && state.outbox.length) {
      const item = state.outbox[0];
      let sent;
      try {
        sent = await deliver(item);
      } catch (error) {
        if (isConnectionError(error)) {
          // Kept, to send after the rejoin. Sent but unanswered: it may have arrived (checked then).
          item.uncertain = item.uncertain || error.details?.reason === "connection_lost" || error.code === 504;
          saveOutbox();
          interrupted = true;
          break;
        }
        state.outbox.shift();
        saveOutbox();
        failPending(item, error);
        continue;
      }
      state.outbox.shift();
      saveOutbox();
      document.querySelector(`[data-key="${item.key}"]`)?.remove();
      if (sent.room === state.room) addMessages([sent]);
    }
  } finally {
    state.flushing = false;
    showQueued();
  }
  // The connection may already be back (its rejoin found this loop busy): go on there, after a breath.
  if (interrupted && state.ready && state.outbox.length) setTimeout(flush, 500);
}

async function deliver(item) {
  if (item.uncertain) {
    const arrived = await alreadyDelivered(item);
    if (arrived) return arrived;
  }
  if (item.file && !item.attachment) item.attachment = await upload(item.file);
  const params = { room: item.room, text: item.text };
  if (item.attachment) params.attachment = item.attachment;
  if (item.room === state.joined) return ws.call("chat/send", params);
  await ws.call("chat/join", { room: item.room }); // typed in another room before a switch
  try {
    return await ws.call("chat/send", params);
  } finally {
    await ws.call("chat/leave", { room: item.room }).catch(() => {});
  }
}

/** A message whose answer was lost may have been stored: found in the history, it is not sent again. */
async function alreadyDelivered(item) {
  const { messages } = await ws.call("chat/history", { room: item.room, limit: PAGE_SIZE });
  return messages.find((m) => m.id > item.after && m.user === state.user && m.text === item.text.trim()) || null;
}

function isConnectionError(error) {
  return error instanceof TypeError || [502, 503, 504].includes(error?.code); // fetch failed, lost, no answer
}

function saveOutbox() {
  // Files live in this tab's memory only; the text of every queued message survives a reload.
  const kept = state.outbox.map(({ file, ...rest }) => rest);
  sessionStorage.setItem("chat.outbox", JSON.stringify(kept));
  showQueued();
}

function showQueued() {
  const waiting = state.outbox.length;
  $("queued").hidden = !waiting;
  $("queued").textContent = waiting ? `${waiting} message${waiting > 1 ? "s" : ""} waiting for the connection` : "";
}

// -- files over HTTP, with the bearer token (the WebSocket carries only their id) --------------------

async function post(code, body, headers = {}) {
  const response = await fetch(`/api/${code}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${state.token}`, ...headers },
    body,
  });
  if (!response.ok) {
    const envelope = await response.json().catch(() => ({ code: response.status, error: { message: response.statusText } }));
    const error = envelope.error || {};
    throw Object.assign(new Error(error.message), { code: envelope.code ?? response.status, status: envelope.status, details: error.details });
  }
  return response;
}

async function upload(file) {
  const form = new FormData();
  form.append("file", file, file.name);
  const envelope = await (await post("chat/upload", form)).json();
  return envelope.result.id;
}

async function showImage(img, attachment) {
  let url = state.images.get(attachment.id);
  if (!url) {
    const body = JSON.stringify({ id: attachment.id });
    const response = await post("chat/attachment", body, { "Content-Type": "application/json" });
    url = URL.createObjectURL(await response.blob());
    state.images.set(attachment.id, url);
  }
  img.src = url;
}

// -- rendering -------------------------------------------------------------------------------------

function addMessages(incoming, { older = false } = {}) {
  const known = new Set(state.messages.map((m) => m.id));
  const fresh = incoming.filter((m) => !known.has(m.id)).sort((a, b) => a.id - b.id);
  const list = $("messages");
  if (!fresh.length) return showOlder();
  const last = state.messages.length ? state.messages[state.messages.length - 1].id : 0;
  const height = list.scrollHeight;
  const follow = state.stick || fresh.some((m) => m.user === state.user && !older);
  state.messages.push(...fresh);
  state.messages.sort((a, b) => a.id - b.id);
  const firstPending = list.querySelector(".pending, .failed");
  if (fresh.every((m) => m.id > last)) {
    for (const message of fresh) list.insertBefore(renderMessage(message), firstPending);
  } else {
    for (const node of list.querySelectorAll(".message:not(.pending):not(.failed), .notice")) node.remove();
    const anchor = list.querySelector(".pending, .failed");
    for (const message of state.messages) list.insertBefore(renderMessage(message), anchor);
  }
  showOlder();
  if (older) list.scrollTop += list.scrollHeight - height; // the message being read stays in place
  else if (follow) scrollToBottom();
}

function renderMessage(message) {
  const time = new Date(message.at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return element("li", { class: message.user === state.user ? "message mine" : "message", "data-id": message.id }, [
    element("div", { class: "meta" }, [element("span", { class: "author" }, [message.user]), element("time", {}, [time])]),
    element("div", { class: "text" }, [message.text]),
    ...(message.attachment ? [renderAttachment(message.attachment)] : []),
  ]);
}

function renderAttachment(attachment) {
  const img = element("img", { class: "attachment", alt: attachment.name, "data-testid": "attachment" }, []);
  img.addEventListener("load", () => {
    if (state.stick) scrollToBottom(); // the image made the list taller: still show its end
  });
  showImage(img, attachment).catch(showError);
  return img;
}

function renderPending() {
  const list = $("messages");
  for (const node of list.querySelectorAll(".pending")) node.remove();
  for (const item of state.outbox) if (item.room === state.room) list.append(renderPendingItem(item));
  showQueued();
}

function renderPendingItem(item) {
  const label = item.fileName ? [item.text, ` [${item.fileName}]`].join("") : item.text;
  return element("li", { class: "message mine pending", "data-key": item.key, "data-testid": "pending" }, [
    element("div", { class: "meta" }, [element("span", { class: "author" }, [state.user || ""]), element("span", { class: "state" }, ["sending…"])]),
    element("div", { class: "text" }, [label]),
  ]);
}

function failPending(item, error) {
  const node = document.querySelector(`[data-key="${item.key}"]`);
  if (node) {
    node.classList.replace("pending", "failed");
    node.querySelector(".state").textContent = `not sent: ${describe(error, { maxImage: MAX_IMAGE })}`;
  }
  showError(error);
}

function olderButton() {
  const button = element("button", { type: "button", class: "quiet", "data-testid": "load-older" }, ["Load older messages"]);
  button.addEventListener("click", () => loadOlder().catch(showError));
  const item = element("li", { class: "older", id: "older" }, [button]);
  item.hidden = true;
  return item;
}

function showOlder() {
  const older = $("older");
  if (older) older.hidden = !state.hasOlder;
}

function renderUsers(users) {
  $("users").replaceChildren(...users.map((name) => element("li", { "data-user": name }, [name])));
}

function notice(text) {
  const list = $("messages");
  list.insertBefore(element("li", { class: "notice" }, [text]), list.querySelector(".pending, .failed"));
  if (state.stick) scrollToBottom();
}

function scrollToBottom() {
  const list = $("messages");
  list.scrollTop = list.scrollHeight;
}

function setStatus(stateName, text) {
  const status = $("status");
  status.dataset.state = stateName;
  status.textContent = text;
}

function showError(error) {
  const box = $("error");
  box.textContent = describe(error, { maxImage: MAX_IMAGE });
  box.hidden = false;
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => (box.hidden = true), 6000);
}

function element(tag, attributes, children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children); // text children become text nodes: never parsed as HTML
  return node;
}

/** Show each field's message under it (or clear them all with an empty object). */
function markFields(fields, messages) {
  for (const [field, input] of Object.entries(fields)) {
    const box = $(input.getAttribute("aria-describedby"));
    const message = messages[field];
    input.setAttribute("aria-invalid", message ? "true" : "false");
    if (box) {
      box.textContent = message || "";
      box.hidden = !message;
    }
  }
}

// -- forms -----------------------------------------------------------------------------------------

const loginFields = { name: $("login-name"), password: $("login-password") };

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const register = event.submitter?.dataset.action === "register";
  const credentials = { name: loginFields.name.value.trim(), password: loginFields.password.value };
  markFields(loginFields, {});
  $("login-error").hidden = true;
  try {
    const session = await ws.call(register ? "user/register" : "user/login", credentials);
    loginFields.password.value = "";
    $("login").close();
    await enter(session);
  } catch (error) {
    const fields = fieldErrors(error);
    markFields(loginFields, fields);
    if (error.code === 429) return lockOut(error.details?.retryAfter || 1);
    if (Object.keys(fields).length) return;
    $("login-error").textContent = describe(error, { maxImage: MAX_IMAGE });
    $("login-error").hidden = false;
  }
});

/** Too many attempts: say how long to wait, count it down, and let the buttons work again after. */
function lockOut(seconds) {
  const until = Date.now() + seconds * 1000;
  const buttons = $("login-form").querySelectorAll("button");
  const box = $("login-error");
  clearInterval(lockOut.timer);
  const tick = () => {
    const left = (until - Date.now()) / 1000;
    if (left <= 0) {
      clearInterval(lockOut.timer);
      box.hidden = true;
      for (const button of buttons) button.disabled = false;
      return;
    }
    box.textContent = `Too many attempts. Try again in ${humanWait(left)}.`;
    box.hidden = false;
    for (const button of buttons) button.disabled = true;
  };
  tick();
  lockOut.timer = setInterval(tick, 1000);
}

// Escape (or any other way of closing it) must not leave an empty page: without a session it stays.
$("login").addEventListener("cancel", (event) => {
  if (!state.token) event.preventDefault();
});
$("login").addEventListener("close", () => {
  if (!state.token) $("login").showModal();
});

$("logout").addEventListener("click", () => {
  forget(); // the token and the queued messages go; a new connection starts without an identity
  location.reload();
});

$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $("text");
  const picker = $("file");
  const text = input.value.trim();
  const file = picker.files[0];
  if (!text && !file) return;
  if (text.length > 2000) return showError({ message: "A message has at most 2000 characters." });
  input.value = "";
  picker.value = "";
  showFile();
  queue(state.room, text, file); // sent now when connected, else after the rejoin, in order
});

$("file").addEventListener("change", () => {
  const file = $("file").files[0];
  if (file && file.size > MAX_IMAGE) {
    showError({ message: `${file.name} is ${humanBytes(file.size)}: images up to ${humanBytes(MAX_IMAGE)}.` });
    $("file").value = "";
  }
  showFile();
});

function showFile() {
  const file = $("file").files[0];
  $("file-hint").textContent = file
    ? `Attached: ${file.name} (${humanBytes(file.size)})`
    : `Images up to ${humanBytes(MAX_IMAGE)} (PNG, JPEG, GIF, WebP)`;
}
showFile();

$("messages").addEventListener("scroll", () => {
  const list = $("messages");
  state.stick = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
});

$("new-room").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("new-room-name");
  const room = input.value.trim();
  markFields({ room: input }, {});
  try {
    await switchRoom(room);
    input.value = "";
  } catch (error) {
    const fields = fieldErrors(error);
    if (Object.keys(fields).length) markFields({ room: input }, fields);
    else showError(error);
    if (state.joined === null && state.token) switchRoom(state.room).catch(showError); // back where it was
  }
});
