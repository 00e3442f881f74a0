// What goes over HTTP with the bearer token: image uploads and downloads (the WebSocket carries only ids).

export class Files {
  /** @param {() => string | null} token  the current bearer token */
  constructor(token) {
    this.token = token;
    this.urls = new Map(); // attachment id -> object URL, fetched once
  }

  /** Upload an image; resolves with its attachment id. Rejects with {code, status, details, message}. */
  async upload(file) {
    const form = new FormData();
    form.append("file", file, file.name);
    const envelope = await (await this.post("chat/upload", form)).json();
    return envelope.result.id;
  }

  /** An object URL of the attachment's image. */
  async imageUrl(attachment) {
    let url = this.urls.get(attachment.id);
    if (!url) {
      const body = JSON.stringify({ id: attachment.id });
      const response = await this.post("chat/attachment", body, { "Content-Type": "application/json" });
      url = URL.createObjectURL(await response.blob());
      this.urls.set(attachment.id, url);
    }
    return url;
  }

  async post(code, body, headers = {}) {
    const response = await fetch(`/api/${code}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${this.token()}`, ...headers },
      body,
    });
    if (response.ok) return response;
    const fallback = { code: response.status, error: { message: response.statusText } };
    const envelope = await response.json().catch(() => fallback);
    const error = envelope.error || {};
    throw Object.assign(new Error(error.message), {
      code: envelope.code ?? response.status,
      status: envelope.status,
      details: error.details,
    });
  }
}
