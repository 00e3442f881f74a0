// The chat page: one BetrueWs connection; commands over it, pushes from it. No framework, no build step.
import { BetrueWs } from "betrue-ws";

const $ = (id) => document.getElementById(id);
const ws = new BetrueWs(document.body.dataset.wsPath || "/ws");
window.chat = { ws }; // handy in the console (and for tests)

const state = {
  user: sessionStorage.getItem("chat.user"),
  room: sessionStorage.getItem("chat.room") || "general",
  joined: null,
  messages: [], // of the current room, sorted by id
};

// -- connection ------------------------------------------------------------------------------------

ws.onOpen(async () => {
  setStatus("open", "online");
  await loadRooms();
  if (state.user) await enter(state.user); // after a reconnect: log in and join again
  else $("login").showModal();
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

async function enter(name) {
  const { user } = await ws.call("user/login", { name });
  state.user = user;
  sessionStorage.setItem("chat.user", user);
  $("me").textContent = user;
  $("app").hidden = false;
  await switchRoom(state.room);
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
  ]);
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
  try {
    await enter($("login-name").value.trim());
    $("login").close();
  } catch (error) {
    $("login-error").textContent = error.message;
    $("login-error").hidden = false;
  }
});

$("composer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("text");
  const text = input.value.trim();
  if (!text) return;
  try {
    await ws.call("chat/send", { room: state.room, text });
    input.value = "";
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
