// The Node.js peer of the bench's Read Device: what the same capability
// costs when a connector is written for Node 20 with nothing installed.
//
// It does what the PingOne MFA connector does for `readDevice`: fetches an
// OAuth client-credentials token once (client_secret_basic, as the host does
// for the connector) and caches it, then for each call parses the input
// text, sends `GET {api}/environments/{env}/users/{user}/devices/{device}`
// with `Accept: application/json` and the bearer token, parses the answer
// with JSON.parse, and builds the connector's envelope
// `{rawResponse, headers, statusCode, device}` as a JSON string, as a Node
// connector would hand its result back.
//
// Mode `fetch` uses the global fetch (undici); mode `agent` uses
// `http.request` with a keep-alive `http.Agent` of one socket. The calls are
// sequential: the warm-up calls first, then the measured ones, over which
// `process.cpuUsage()` (user + system, the whole process) and the wall time
// are read. It prints one JSON line on stdout:
// `{"mode":..., "calls":N, "cpuUsPerCall":..., "wallUsPerCall":...}`, and
// exits non-zero with a message on stderr if any answer is not a 200.
//
// Settings come from the environment, under the names the bench gives its
// own children: BENCH_API_URL, BENCH_AUTH_URL, BENCH_ENV, BENCH_CLIENT,
// BENCH_SECRET, BENCH_USER, BENCH_DEVICE; and BENCH_NODE_MODE (fetch or
// agent), BENCH_NODE_WARMUP and BENCH_NODE_CALLS.

import http from "node:http";

function setting(name) {
  const value = process.env[name];
  if (value === undefined || value === "") {
    fail(`${name} is not set`);
  }
  return value;
}

function count(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === "") {
    return fallback;
  }
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    fail(`${name} must be a whole number, not ${JSON.stringify(raw)}`);
  }
  return n;
}

function fail(message) {
  process.stderr.write(`read-device.mjs: ${message}\n`);
  process.exit(1);
}

const apiUrl = setting("BENCH_API_URL").replace(/\/+$/, "");
const authUrl = setting("BENCH_AUTH_URL").replace(/\/+$/, "");
const env = setting("BENCH_ENV");
const clientId = setting("BENCH_CLIENT");
const clientSecret = setting("BENCH_SECRET");
const userId = setting("BENCH_USER");
const deviceId = setting("BENCH_DEVICE");
const mode = process.env.BENCH_NODE_MODE || "agent";
const warmup = count("BENCH_NODE_WARMUP", 500);
const calls = count("BENCH_NODE_CALLS", 2000);
if (mode !== "fetch" && mode !== "agent") {
  fail(`BENCH_NODE_MODE must be fetch or agent, not ${JSON.stringify(mode)}`);
}
if (calls === 0) {
  fail("BENCH_NODE_CALLS must be at least 1");
}

// The invocation's input, as the host hands it to the connector.
const input = JSON.stringify({ userId, deviceId });

// The keep-alive agent of mode `agent`: one socket, reused by every call.
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

// One request with the `http` module: the status, the headers (lower-case
// names, repeated values joined by ", ", as the connector reports them) and
// the body as text.
function send(url, options, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { ...options, agent }, (res) => {
      const chunks = [];
      res.on("data", (chunk) => chunks.push(chunk));
      res.on("end", () => {
        const headers = {};
        for (const [name, value] of Object.entries(res.headers)) {
          headers[name] = Array.isArray(value) ? value.join(", ") : value;
        }
        resolve({
          status: res.statusCode,
          headers,
          text: Buffer.concat(chunks).toString("utf8"),
        });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

// The same with the global fetch.
async function sendFetch(url, options, body) {
  const res = await fetch(url, { ...options, body });
  const headers = {};
  for (const [name, value] of res.headers) {
    headers[name] = value;
  }
  return { status: res.status, headers, text: await res.text() };
}

const request = mode === "fetch" ? sendFetch : send;

// The token, fetched once and cached for every call, as the host caches it
// per tenant.
async function fetchToken() {
  const basic = Buffer.from(
    `${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`,
  ).toString("base64");
  const res = await request(
    `${authUrl}/${encodeURIComponent(env)}/as/token`,
    {
      method: "POST",
      headers: {
        authorization: `Basic ${basic}`,
        "content-type": "application/x-www-form-urlencoded",
        accept: "application/json",
      },
    },
    "grant_type=client_credentials",
  );
  if (res.status !== 200) {
    fail(`token request answered ${res.status}: ${res.text}`);
  }
  const token = JSON.parse(res.text).access_token;
  if (typeof token !== "string") {
    fail(`token answer has no access_token: ${res.text}`);
  }
  return token;
}

// One Read Device: the input parsed, the request sent, the answer parsed and
// the envelope built and serialised.
async function readDevice(bearer, inputText) {
  const parsed = JSON.parse(inputText);
  const url =
    `${apiUrl}/environments/${encodeURIComponent(env)}` +
    `/users/${encodeURIComponent(parsed.userId)}` +
    `/devices/${encodeURIComponent(parsed.deviceId)}`;
  const res = await request(url, {
    method: "GET",
    headers: { accept: "application/json", authorization: bearer },
  });
  if (res.status !== 200) {
    fail(`Read Device answered ${res.status}: ${res.text}`);
  }
  const raw = JSON.parse(res.text);
  return JSON.stringify({
    rawResponse: raw,
    headers: res.headers,
    statusCode: res.status,
    device: raw,
  });
}

async function main() {
  const bearer = `Bearer ${await fetchToken()}`;
  for (let i = 0; i < warmup; i++) {
    await readDevice(bearer, input);
  }
  const cpu0 = process.cpuUsage();
  const wall0 = process.hrtime.bigint();
  let bytes = 0;
  for (let i = 0; i < calls; i++) {
    bytes += (await readDevice(bearer, input)).length;
  }
  const wallNs = Number(process.hrtime.bigint() - wall0);
  const cpu = process.cpuUsage(cpu0);
  agent.destroy();
  process.stdout.write(
    JSON.stringify({
      mode,
      calls,
      cpuUsPerCall: (cpu.user + cpu.system) / calls,
      wallUsPerCall: wallNs / 1000 / calls,
      outputBytesPerCall: bytes / calls,
    }) + "\n",
  );
}

main().catch((e) => fail(e && e.stack ? e.stack : String(e)));
