// The server's API, as the signed-in user. The token lives in localStorage (it is what
// `os1 users add` printed); every request sends it, and only to this page's own origin.

const TOKEN_KEY = "os1.token";

export function token() {
  return localStorage.getItem(TOKEN_KEY) || "";
}

export function remember(value) {
  localStorage.setItem(TOKEN_KEY, value.trim());
}

export function forget() {
  localStorage.removeItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// JSON in, JSON out; errors become ApiError with the server's own message.
export async function api(path, { method = "GET", body, raw = false } = {}) {
  const headers = { Authorization: `Bearer ${token()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      message = (await response.json()).error.message || message;
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(response.status, message);
  }
  return raw ? response : response.json();
}

// WebSockets and EventSource cannot send headers, so those take the token in the query.
export function socketUrl(path) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}?token=${encodeURIComponent(token())}`;
}

export function eventsUrl() {
  return `/v1/events?token=${encodeURIComponent(token())}`;
}
