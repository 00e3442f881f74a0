// The login dialog: log in or register, each field's error under it, the lock-out counted down,
// and no way to dismiss it (Escape) while nobody is logged in.
import { $ } from "./dom.js";
import { describe, fieldErrors, humanWait } from "./format.js";

/** Show each field's message under it (an empty object clears them). */
export function markFields(fields, messages) {
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

export class LoginDialog {
  /**
   * @param {{call: (command, params) => Promise<object>, loggedIn: () => boolean,
   *          onSession: (session) => Promise<void>}} hooks
   */
  constructor(hooks) {
    this.hooks = hooks;
    this.dialog = $("login");
    this.form = $("login-form");
    this.error = $("login-error");
    this.fields = { name: $("login-name"), password: $("login-password") };
    this.form.addEventListener("submit", (event) => this.submit(event));
    // Escape (or any other way of closing it) must not leave an empty page.
    this.dialog.addEventListener("cancel", (event) => {
      if (!hooks.loggedIn()) event.preventDefault();
    });
    this.dialog.addEventListener("close", () => {
      if (!hooks.loggedIn()) this.dialog.showModal();
    });
  }

  show() {
    if (!this.dialog.open) this.dialog.showModal();
  }

  async submit(event) {
    event.preventDefault();
    const register = event.submitter?.dataset.action === "register";
    const credentials = { name: this.fields.name.value.trim(), password: this.fields.password.value };
    markFields(this.fields, {});
    this.error.hidden = true;
    let session;
    try {
      session = await this.hooks.call(register ? "user/register" : "user/login", credentials);
    } catch (error) {
      const fields = fieldErrors(error);
      markFields(this.fields, fields);
      if (error.code === 429) return this.lockOut(error.details?.retryAfter || 1);
      if (Object.keys(fields).length) return;
      this.error.textContent = describe(error);
      this.error.hidden = false;
      return;
    }
    this.fields.password.value = "";
    const entering = this.hooks.onSession(session); // logged in from here on: the dialog may close
    this.dialog.close();
    await entering;
  }

  /** Too many attempts: say how long to wait, count it down, and let the buttons work again after. */
  lockOut(seconds) {
    const until = Date.now() + seconds * 1000;
    const buttons = this.form.querySelectorAll("button");
    clearInterval(this.timer);
    const tick = () => {
      const left = (until - Date.now()) / 1000;
      const locked = left > 0;
      for (const button of buttons) button.disabled = locked;
      this.error.hidden = !locked;
      if (locked) this.error.textContent = `Too many attempts. Try again in ${humanWait(left)}.`;
      else clearInterval(this.timer);
    };
    tick();
    this.timer = setInterval(tick, 1000);
  }
}
