// The chat page: one BetrueWs connection (to the first server of a list, the next one when it drops);
// commands over it, pushes from it. No framework, no build step. The parts: the message list
// (messages.js), the outbox (outbox.js), the login dialog (login.js), images over HTTP (http.js).
// No import map: inline scripts are refused by the page's Content-Security-Policy.
import { BetrueWs } from "/betrue-ws/betrue-ws.js";
import { $, element } from "./dom.js";
import { describe, fieldErrors, humanBytes } from "./format.js";
import { Files } from "./http.js";
import { LoginDialog, markFields } from "./login.js";
import { MessageList } from "./messages.js";
import { Outbox } from "./outbox.js";

const page = document.body.dataset;
const servers = JSON.parse(page.servers || "[]");
const MAX_IMAGE = Number(page.maxImage) || 5 * 1024 * 1024;
const MAX_TEXT = 2000;
const PAGE_SIZE = 50; // messages per history page ("Load older")

const ws = new BetrueWs(servers.length ? servers : [page.wsPath || "/ws"]);
const state = {
  user: sessionStorage.getItem("chat.user"),
  token: sessionStorage.getItem("chat.token"), // the bearer token user/login answered
  room: sessionStorage.getItem("chat.room") || "general",
  joined: null, // the room this connection is in
};
const files = new Files(() => state.token);
const messages = new MessageList($("messages"), {
  me: () => state.user,
  imageUrl: (attachment) => files.imageUrl(attachment),
  onOlder: () => loadOlder().catch(showError),
  onError: showError,
});
const outbox = new Outbox({
  deliver,
  findDelivered,
  onSent: (item, message) => {
    messages.sent(item);
    if (message.room === state.room) messages.add([message]);
  },
  onFailed: (item, error) => {
    messages.failed(item, describe(error, { maxImage: MAX_IMAGE }));
    showError(error);
  },
  onChange: showQueued,
});
const login = new LoginDialog({
  call: (command, params) => ws.call(command, params),
  loggedIn: () => Boolean(state.token),
  onSession: entered,
});
window.chat = { ws, state, messages, outbox }; // handy in the console (and for tests)
messages.reset();
showQueued(outbox.items.length);

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
  await entered({ user: state.user, token: state.token });
});

ws.on("auth.expired", () => {
  forget({ keepOutbox: true }); // the token ran out: log in again; what was typed waits for it
  showLogin();
});

ws.onClose(({ reconnecting }) => {
  state.joined = null;
  outbox.pause();
  setStatus(reconnecting ? "connecting" : "closed", reconnecting ? "reconnecting…" : "offline");
});

ws.on("chat.message", (message) => {
  if (message.room === state.room) messages.add([message]);
});

ws.on("chat.presence", (presence) => {
  if (presence.room === state.room) {
    renderUsers(presence.users);
    if (presence.user !== state.user) messages.notice(`${presence.user} ${presence.online ? "joined" : "left"}`);
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
  $("app").hidden = false;
  outbox.retain((item) => item.user === user); // never sent in someone else's name
  await switchRoom(state.room);
}

/** enter(), its failures said on the page, except a 503: the connection was lost or the server is
 * shutting down meanwhile; the next connection logs in and rejoins (and sends the outbox) again. */
async function entered(session) {
  try {
    await enter(session);
  } catch (error) {
    if (error.code !== 503) showError(error);
  }
}

function forget({ keepOutbox = false } = {}) {
  state.user = state.token = null;
  for (const key of ["chat.user", "chat.token"]) sessionStorage.removeItem(key);
  if (!keepOutbox) outbox.clear();
}

function showLogin() {
  $("app").hidden = true;
  $("logout").hidden = true;
  login.show();
}

// -- rooms and history -----------------------------------------------------------------------------

async function switchRoom(room) {
  outbox.pause(); // until this connection is in the room
  if (state.joined && state.joined !== room) {
    await ws.call("chat/leave", { room: state.joined });
    state.joined = null;
  }
  const joined = await ws.call("chat/join", { room });
  state.joined = room;
  const fresh = room !== state.room || !messages.messages.length;
  if (fresh) messages.reset();
  state.room = room;
  sessionStorage.setItem("chat.room", room);
  $("room-title").textContent = `#${room}`;
  renderUsers(joined.users);
  const history = await ws.call("chat/history", { room, limit: PAGE_SIZE });
  if (fresh) messages.hasOlder = history.messages.length === PAGE_SIZE;
  messages.add(history.messages); // after a reconnect: only those missed meanwhile are new
  messages.showSending(outbox.items, room);
  outbox.resume();
  await loadRooms();
}

async function loadOlder() {
  if (messages.firstId === null) return;
  const params = { room: state.room, limit: PAGE_SIZE, before: messages.firstId };
  const history = await ws.call("chat/history", params);
  messages.hasOlder = history.messages.length === PAGE_SIZE;
  messages.add(history.messages, { older: true });
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

// -- sending: what the outbox calls ----------------------------------------------------------------

async function deliver(item) {
  if (item.file && !item.attachment) item.attachment = await files.upload(item.file);
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
async function findDelivered(item) {
  const history = await ws.call("chat/history", { room: item.room, limit: PAGE_SIZE });
  const text = item.text.trim();
  return history.messages.find((m) => m.id > item.after && m.user === state.user && m.text === text) || null;
}

// -- status lines ----------------------------------------------------------------------------------

function renderUsers(users) {
  $("users").replaceChildren(...users.map((name) => element("li", { "data-user": name }, [name])));
}

function setStatus(stateName, text) {
  const status = $("status");
  status.dataset.state = stateName;
  status.textContent = text;
}

function showQueued(waiting) {
  $("queued").hidden = !waiting;
  $("queued").textContent = waiting ? `${waiting} message${waiting > 1 ? "s" : ""} waiting for the connection` : "";
}

function showError(error) {
  const box = $("error");
  box.textContent = describe(error, { maxImage: MAX_IMAGE });
  box.hidden = false;
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => (box.hidden = true), 6000);
}

function showFile() {
  const file = $("file").files[0];
  $("file-hint").textContent = file
    ? `Attached: ${file.name} (${humanBytes(file.size)})`
    : `Images up to ${humanBytes(MAX_IMAGE)} (PNG, JPEG, GIF, WebP)`;
}

// -- forms -----------------------------------------------------------------------------------------

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
  if (text.length > MAX_TEXT) return showError({ message: `A message has at most ${MAX_TEXT} characters.` });
  input.value = "";
  picker.value = "";
  showFile();
  // sent now when connected, else after the rejoin, in order
  const item = outbox.add({ user: state.user, room: state.room, text, after: messages.lastId, file });
  messages.addSending(item);
  outbox.flush();
});

$("file").addEventListener("change", () => {
  const file = $("file").files[0];
  if (file && file.size > MAX_IMAGE) {
    showError({ message: `${file.name} is ${humanBytes(file.size)}: images up to ${humanBytes(MAX_IMAGE)}.` });
    $("file").value = "";
  }
  showFile();
});
showFile();

$("new-room").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("new-room-name");
  markFields({ room: input }, {});
  try {
    await switchRoom(input.value.trim());
    input.value = "";
  } catch (error) {
    const fields = fieldErrors(error);
    if (Object.keys(fields).length) markFields({ room: input }, fields);
    else showError(error);
    if (state.joined === null && state.token) switchRoom(state.room).catch(showError); // back where it was
  }
});
