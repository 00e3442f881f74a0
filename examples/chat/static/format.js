// What the page says to people: sizes in human units and the server's errors in plain words.

/** 5242880 -> "5 MiB", 5373952 -> "5.1 MiB", 70 -> "70 B". */
export function humanBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${Math.round(value * 10) / 10} ${units[unit]}`;
}

/** "in 1 s", "in 42 s", "in 2 min 5 s". */
export function humanWait(seconds) {
  const whole = Math.max(1, Math.ceil(seconds));
  if (whole < 60) return `${whole} s`;
  const minutes = Math.floor(whole / 60);
  const rest = whole % 60;
  return rest ? `${minutes} min ${rest} s` : `${minutes} min`;
}

// The words a field's broken rule (the JSON Schema keyword in the error details) is explained with.
const RULES = {
  name: {
    required: "Enter a name.",
    pattern: "Letters, digits, space, dot, _ or -, starting with a letter or digit (at most 32).",
    maxLength: "At most 32 characters.",
  },
  password: {
    required: "Enter a password.",
    minLength: "At least 8 characters.",
    maxLength: "At most 200 characters.",
  },
  room: {
    required: "Enter a room name.",
    pattern: "a-z, 0-9 and -, starting with a letter or digit (at most 32).",
  },
  text: { maxLength: "At most 2000 characters." },
};

/**
 * The field-level messages of a validation error: {field: message}. The envelope's details are
 * [{path: "/name", message, keyword}]; a missing field has the path "" and its name in the message.
 */
export function fieldErrors(error) {
  const found = {};
  if (!Array.isArray(error?.details)) return found;
  for (const detail of error.details) {
    let field = (detail.path || "").split("/")[1];
    if (!field && detail.keyword === "required") field = /["']([^"']+)["']/.exec(detail.message || "")?.[1];
    if (!field || found[field]) continue;
    found[field] = RULES[field]?.[detail.keyword] || detail.message;
  }
  return found;
}

/** One sentence for an error the page shows; maxImage is the upload limit in bytes. */
export function describe(error, { maxImage } = {}) {
  if (error?.code === 413) return `The image is too large: images up to ${humanBytes(maxImage)}.`;
  if (error?.code === 429 && error.details?.retryAfter) {
    return `Too many attempts. Try again in ${humanWait(error.details.retryAfter)}.`;
  }
  const fields = Object.entries(fieldErrors(error));
  if (fields.length) return fields.map(([field, message]) => `${field}: ${message}`).join(" ");
  return error?.message || String(error);
}
