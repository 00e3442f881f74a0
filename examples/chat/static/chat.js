// The chat page: one BetrueWs connection; commands over it, pushes from it. No framework, no build step.
// No import map: inline scripts are refused by the page's Content-Security-Policy.
import { BetrueWs } from "/betrue-ws/betrue-ws.js";

const $ = (id) => document.getElementById(id);
const ws = new BetrueWs(document.body.dataset.wsPath || "/ws");
window.chat = { ws }; // handy in the console (and for tests)

const state = {
  user: sessionStorage.getItem("chat.user"),
  token: sessionStorage.getItem("chat.token"), // the bearer token user/login answered
  images: new Map(), // attachment id -> object URL, fetched once
  room: sessionStorage.getItem("chat.room") || "general",
  joined: null,
  messages: [], // of the current room, sorted by id
};

// -- connection ------------------------------------------------------------------------------------

ws.onOpen(async () => {
  setStatus("open", "online");
  if (state.token) {
    // After a reload or a reconnect: the token logs this new connection in; no password again.
    try {
      await ws.call("_auth/identify", { token: state.token });
      await enter({ user: state.user, token: state.token });
      return;
    } catch (error) {
      forget();
    }
  }
  $("login").showModal();
});

ws.on("auth.expired", () => {
  forget();
  $("app").hidden = true;
  $("login").showModal(); // the token ran out: log in again
});

ws.onClose(({ reconnecting }) => {
  state.joined = null;
  setStatus(reconnecting ? "connecting" : "closed", reconnecting ? "reconnecting…" : "offline");
});

ws.on("chat.message", (message) => {
  if (message.room === state.room) addMessages([message]);
});

ws.on("chat.presence", (presence) => {
  if (presence.room === state.room) {
    renderUsers(presence.users);
    if (presence.user !== state.user) notice(`${presence.user} ${presence.online ? "joined" : "left"}`);
  }
  loadRooms();
});

ws.on("chat.room", () => loadRooms());

// -- actions ---------------------------------------------------------------------------------------

async function enter({ user, token }) {
  state.user = user;
  state.token = token;
  sessionStorage.setItem("chat.user", user);
  sessionStorage.setItem("chat.token", token);
  $("me").textContent = user;
  $("app").hidden = false;
  await switchRoom(state.room);
}

function forget() {
  state.user = state.token = null;
  sessionStorage.removeItem("chat.user");
  sessionStorage.removeItem("chat.token");
}

// Files go over HTTP with the bearer token (the WebSocket carries only their id): see attachments.py.
async function post(code, body, headers = {}) {
  const response = await fetch(`/api/${code}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${state.token}`, ...headers },
    body,
  });
  if (!response.ok) {
    const envelope = await response.json().catch(() => ({ error: { message: response.statusText } }));
    throw Object.assign(new Error(envelope.error.message), { status: envelope.status });
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

async function switchRoom(room) {
  if (state.joined && state.joined !== room) await ws.call("chat/leave", { room: state.joined });
  state.room = room;
  sessionStorage.setItem("chat.room", room);
  state.messages = [];
  $("messages").replaceChildren();
  $("room-title").textContent = `#${room}`;
  const joined = await ws.call("chat/join", { room });
  state.joined = room;
  renderUsers(joined.users);
  const { messages } = await ws.call("chat/history", { room, limit: 100 });
  addMessages(messages);
  await loadRooms();
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

// -- rendering -------------------------------------------------------------------------------------

function addMessages(incoming) {
  const known = new Set(state.messages.map((m) => m.id));
  const fresh = incoming.filter((m) => !known.has(m.id));
  if (!fresh.length) return;
  const list = $("messages");
  const last = state.messages.length ? state.messages[state.messages.length - 1].id : 0;
  state.messages.push(...fresh);
  state.messages.sort((a, b) => a.id - b.id);
  if (fresh.every((m) => m.id > last)) fresh.sort((a, b) => a.id - b.id).forEach((m) => list.append(renderMessage(m)));
  else list.replaceChildren(...state.messages.map(renderMessage)); // history arrived after a live message
  list.scrollTop = list.scrollHeight;
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
  showImage(img, attachment).catch(showError);
  return img;
}

function renderUsers(users) {
  $("users").replaceChildren(...users.map((name) => element("li", { "data-user": name }, [name])));
}

function notice(text) {
  const list = $("messages");
  list.append(element("li", { class: "notice" }, [text]));
  list.scrollTop = list.scrollHeight;
}

function setStatus(stateName, text) {
  const status = $("status");
  status.dataset.state = stateName;
  status.textContent = text;
}

function showError(error) {
  const box = $("error");
  box.textContent = `${error.message}${error.status ? ` (${error.status})` : ""}`;
  box.hidden = false;
  setTimeout(() => (box.hidden = true), 4000);
}

function element(tag, attributes, children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children); // text children become text nodes: never parsed as HTML
  return node;
}

// -- forms -----------------------------------------------------------------------------------------

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const register = event.submitter?.dataset.action === "register";
  const credentials = { name: $("login-name").value.trim(), password: $("login-password").value };
  try {
    const session = await ws.call(register ? "user/register" : "user/login", credentials);
    $("login-password").value = "";
    await enter(session);
    $("login").close();
  } catch (error) {
    $("login-error").textContent = error.message;
    $("login-error").hidden = false;
  }
});

$("composer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("text");
  const picker = $("file");
  const text = input.value.trim();
  const file = picker.files[0];
  if (!text && !file) return;
  try {
    const message = { room: state.room, text };
    if (file) message.attachment = await upload(file);
    await ws.call("chat/send", message);
    input.value = "";
    picker.value = "";
  } catch (error) {
    showError(error);
  }
});

$("new-room").addEventListener("submit", async (event) => {
  event.preventDefault();
  const room = $("new-room-name").value.trim();
  if (!room) return;
  $("new-room-name").value = "";
  switchRoom(room).catch(showError);
});
