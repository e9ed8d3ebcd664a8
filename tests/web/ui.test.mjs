// ui.test.mjs - lanraged's web UI in a real browser (Debian's chromium through
// playwright-core), as a user would drive it.  Run by tests/web/ui.sh inside
// alice's network namespace, which gives it:
//   UI_URL         what `lanrage ui` printed (http://127.0.0.1:8666/#token=...)
//   LANRAGE        the CLI, run as alice's and bob's with
//   NS_ALICE, NS_BOB, TOKEN_ALICE, TOKEN_BOB  their namespaces and API tokens
//   ALICE_PID      alice's lanraged, stopped at the end to see the page notice
//   OUT_DIR        where a screenshot goes when a step fails
//   SHOT_DIR       (optional) where to save one of the page in a party
// Every wait has a deadline; nothing sleeps a fixed time.
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import http from "node:http";
import { chromium } from "playwright-core";

const url = new URL(process.env.UI_URL);
const base = `${url.protocol}//${url.host}/`;
const token = new URLSearchParams(url.hash.slice(1)).get("token");
const env = process.env;
const cliAlice = ["ip", "netns", "exec", env.NS_ALICE, env.LANRAGE, "--token-file", env.TOKEN_ALICE];
const cliBob = ["ip", "netns", "exec", env.NS_BOB, env.LANRAGE, "--token-file", env.TOKEN_BOB];
const started = Date.now();
let current = "start";

function step(what) {
  current = what;
  console.log(`== [${((Date.now() - started) / 1000).toFixed(1)}s] ${what}`);
}

// The CLI's JSON answer; throws (with its message) when it fails.
function cli(argv, ...args) {
  const out = execFileSync(argv[0], [...argv.slice(1), "--json", ...args], {
    encoding: "utf8",
    timeout: 60000,
  });
  return out.trim() ? JSON.parse(out) : null;
}

// Polls fn until it returns a truthy value; fails with what after secs.
async function until(secs, what, fn) {
  const deadline = Date.now() + secs * 1000;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e.message;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${secs}s waiting for ${what} (last: ${last})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function text(page, selector) {
  return ((await page.locator(selector).first().textContent()) ?? "").trim();
}

async function waitText(page, selector, re, secs = 15) {
  return until(secs, `${selector} to match ${re}`, async () => {
    const t = await text(page, selector);
    return re.test(t) ? t || true : false;
  });
}

async function waitState(page, state, secs = 15) {
  await page.waitForSelector(`body[data-state="${state}"]`, { timeout: secs * 1000 });
}

// A page from another origin (another local port) that knows the token and
// tries to drive the API: the browser must not let it.
function startForeignSite() {
  const page = `<!doctype html><title>not lanrage</title><script>
    window.results = {};
    const api = "${base}api/";
    fetch(api + "status", { headers: { Authorization: "Bearer ${token}" } })
      .then((r) => r.status, (e) => "blocked: " + e.message)
      .then((r) => (window.results.read = String(r)));
    fetch(api + "party/leave", { method: "POST", mode: "no-cors", body: "{}" })
      .then(() => "sent", (e) => "blocked: " + e.message)
      .then((r) => (window.results.leave = r));
  </script>`;
  const server = http.createServer((req, res) => {
    res.writeHead(200, { "Content-Type": "text/html" });
    res.end(page);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
const page = await browser.newPage();
const problems = [];
page.on("pageerror", (e) => problems.push(`uncaught: ${e.message}`));
page.on("console", (m) => {
  // Chromium logs every 401 and the unreachable daemon's failed fetches; those are expected.
  if (m.type() === "error" && !/Failed to load resource|ERR_CONNECTION_REFUSED/.test(m.text()))
    problems.push(`console: ${m.text()}`);
});

try {
  step("without the token the page asks for it, and refuses a wrong one");
  await page.goto(base);
  await waitState(page, "signin");
  assert.equal(await page.locator("#app").isVisible(), false, "the app shows without a token");
  await page.fill("#token-input", "not a token");
  await page.click("#token-save");
  await waitText(page, "#signin-msg", /\S/);
  await page.fill("#token-input", "a".repeat(64));
  await page.click("#token-save");
  await waitText(page, "#signin-msg", /\S/);
  await waitState(page, "signin");

  step("the address `lanrage ui` prints signs the page in and leaves the address bar");
  await page.goto(process.env.UI_URL);
  await waitState(page, "ready");
  assert.equal(new URL(page.url()).hash, "", "the token stays in the address bar");
  assert.equal(await text(page, "#daemon-name"), "alice");
  assert.ok(await page.locator("#party-none").isVisible(), "no party form outside a party");
  const status = cli(cliAlice, "status");
  assert.ok((await text(page, "#version")).includes(status.version), "version");
  assert.equal(status.interface.priority_lane, "open", "alice's priority lane");
  assert.equal(await text(page, "#lane"), "on", "the header says games go first");
  await waitText(page, "#nat-global", /^\[2001:db8:1::2\]:\d+$/);

  step("alice creates a party from the page");
  await page.fill("#create-name", "Friday LAN");
  await page.click("#create-btn");
  await page.locator("#party-info").waitFor({ state: "visible", timeout: 30000 });
  const party = cli(cliAlice, "status");
  assert.ok(party.party, "the daemon is not in a party after the page created one");
  await waitText(page, "#party-id", new RegExp(party.party.party_id));
  await waitText(page, "#party-name", /^Friday LAN$/);
  await waitText(page, "#vip", new RegExp(`^${party.virtual_ip.replaceAll(".", "\\.")}$`));
  assert.ok(party.virtual_ip6, "no virtual_ip6 in the status");
  await waitText(page, "#vip6", new RegExp(`^${party.virtual_ip6}$`));

  step("bob joins with the CLI; the page shows him connected, directly");
  cli(cliBob, "party", "join", party.party.party_id);
  await waitText(page, 'tr[data-peer="bob"] .state', /^connected$/, 30);
  await waitText(page, 'tr[data-peer="bob"] .path', /direct/);
  await waitText(page, "#party-members", /2 members/);
  const bobVip = cli(cliBob, "status").virtual_ip;
  await waitText(page, 'tr[data-peer="bob"] .vip', new RegExp(bobVip.replaceAll(".", "\\.")));
  const bobVip6 = cli(cliBob, "status").virtual_ip6;
  assert.ok(bobVip6, "bob has no IPv6 address on the virtual LAN");
  await waitText(page, 'tr[data-peer="bob"] .vip .vip6', new RegExp(`^${bobVip6}$`));

  step("the page pings bob through the tunnel");
  await page.click('tr[data-peer="bob"] button.ping');
  await waitText(page, "#ping-result", /4\/4/, 30);
  if (env.SHOT_DIR) await page.screenshot({ path: `${env.SHOT_DIR}/ui-party.png`, fullPage: true });

  step("a setting changed on the page reaches the daemon; a bad one is refused, named");
  const row = 'tr[data-key="degraded_rtt_ms"]';
  await page.fill(`${row} input.edit`, "150");
  await page.click(`${row} button.save`);
  await waitText(page, "#settings-msg", /saved/i);
  await until(10, "degraded_rtt_ms stored", () => {
    const s = cli(cliAlice, "settings").settings.degraded_rtt_ms;
    return s.value === 150 && s.stored === 150;
  });
  await waitText(page, `${row} .value`, /^150$/);
  await page.fill(`${row} input.edit`, "0");
  await page.click(`${row} button.save`);
  await waitText(page, "#settings-msg", /degraded_rtt_ms/);
  assert.equal(cli(cliAlice, "settings").settings.degraded_rtt_ms.value, 150, "0 was stored");
  await page.click(`${row} button.reset`);
  await until(10, "degraded_rtt_ms back to its default", () => {
    const s = cli(cliAlice, "settings").settings.degraded_rtt_ms;
    return s.value === 200 && s.stored === null;
  });

  step("favourite servers kept from the page, and from the CLI, shown on both");
  await page.fill("#fav-name", "Friday server");
  await page.fill("#fav-address", "10.66.0.3:27015");
  await page.fill("#fav-game", "cs2");
  await page.click("#fav-add");
  await waitText(page, "#fav-msg", /Added Friday server/);
  const favs = cli(cliAlice, "favorites").favorites;
  assert.equal(favs.length, 1, "the daemon keeps no favourite after the page added one");
  assert.equal(favs[0].address, "10.66.0.3:27015");
  assert.equal(favs[0].game, "cs2");
  const favRow = `#favorites tr[data-id="${favs[0].server_id}"]`;
  await waitText(page, `${favRow} .name`, /^Friday server$/);
  await page.fill("#fav-name", "half");
  await page.click("#fav-add");
  await waitText(page, "#fav-msg", /needs a name and an address/);
  assert.equal(cli(cliAlice, "favorites").favorites.length, 1, "a favourite without an address was sent");
  cli(cliAlice, "favorites", "add", "Night server", "10.66.0.4:7777");
  await waitText(page, '#favorites tr[data-name="Night server"] .address', /^10\.66\.0\.4:7777$/, 20);
  await page.click(`${favRow} button.remove`);
  await page.locator(favRow).waitFor({ state: "detached", timeout: 15000 });
  assert.deepEqual(cli(cliAlice, "favorites").favorites.map((f) => f.name), ["Night server"]);

  step("a game profile saved, edited and removed from the page; JSON checked first");
  const profRow = '#profiles tr[data-name="My Game"]';
  await page.fill("#prof-name", "My Game");
  await page.fill("#prof-json", "[1, 2]");
  await page.click("#prof-save");
  await waitText(page, "#prof-msg", /must be a JSON object/);
  await page.fill("#prof-json", '{"fps": 144');
  await page.click("#prof-save");
  await waitText(page, "#prof-msg", /not JSON/);
  assert.equal(cli(cliAlice, "profiles").profiles.length, 0, "a bad profile was sent");
  await page.fill("#prof-json", '{"fps": 144, "ports": [27015]}');
  await page.fill("#prof-game", "cs2");
  await page.click("#prof-save");
  await waitText(page, "#prof-msg", /Saved My Game/);
  let kept = cli(cliAlice, "profiles", "show", "My Game");
  assert.equal(kept.profile.fps, 144);
  assert.equal(kept.game, "cs2");
  await waitText(page, `${profRow} .profile`, /"fps":144/);
  await page.click(`${profRow} button.edit`);
  assert.match(await page.inputValue("#prof-json"), /"fps": 144/, "Edit did not load the profile");
  await page.fill("#prof-json", '{"fps": 240}');
  await page.click("#prof-save");
  await waitText(page, `${profRow} .profile`, /"fps":240/);
  kept = cli(cliAlice, "profiles", "show", "My Game");
  assert.deepEqual(kept.profile, { fps: 240 }, "the edit did not replace the profile");
  await page.click(`${profRow} button.remove`);
  await page.locator(profRow).waitFor({ state: "detached", timeout: 15000 });
  assert.equal(cli(cliAlice, "profiles").profiles.length, 0, "the profile is still kept");
  await page.locator("#prof-empty").waitFor({ state: "visible", timeout: 15000 });

  step("a page from another origin cannot drive the API, even knowing the token");
  const foreign = await startForeignSite();
  const evil = await browser.newPage();
  await evil.goto(`http://127.0.0.1:${foreign.address().port}/`);
  const results = await until(15, "the foreign page's attempts", () =>
    evil.evaluate(() => (window.results.read && window.results.leave ? window.results : null)),
  );
  assert.match(results.read, /^blocked/, "a foreign page read the status");
  assert.ok(cli(cliAlice, "status").party, "a foreign page made alice leave");
  await evil.close();
  foreign.close();

  step("alice, the host, removes bob from the page; he is out and may not come back");
  assert.equal(await page.locator('tr[data-peer="alice"] button.kick').count(), 0, "a Remove button for oneself");
  page.once("dialog", (d) => d.accept());
  await page.click('tr[data-peer="bob"] button.kick');
  await waitText(page, "#party-msg", /Removed bob from the party/);
  await page.locator('tr[data-peer="bob"]').waitFor({ state: "detached", timeout: 15000 });
  await until(15, "bob's daemon out of the party", () => cli(cliBob, "status").party === null);
  assert.match(String(cli(cliBob, "status").party_note), /host removed us/);
  let refused = null;
  try {
    cli(cliBob, "party", "join", party.party.party_id);
  } catch (e) {
    refused = `${e.stdout || ""}${e.stderr || ""}${e.message}`;
  }
  assert.ok(refused !== null, "bob joined again after his removal");
  assert.match(refused, /removed you/);

  step("the page lists bob as removed; letting him back in from it, he joins again");
  const bobId = cli(cliBob, "status").peer_id;
  await waitText(page, `#removed-list li[data-peer-id="${bobId}"] .name`, /^bob$/);
  await page.click(`#removed-list li[data-peer-id="${bobId}"] button.unban`);
  await waitText(page, "#party-msg", /bob may join the party again/);
  await page.locator(`#removed-list li[data-peer-id="${bobId}"]`).waitFor({ state: "detached", timeout: 15000 });
  assert.ok(await page.locator("#removed").isHidden(), "an empty list of removed members is shown");
  cli(cliBob, "party", "join", party.party.party_id);
  await waitText(page, 'tr[data-peer="bob"] .state', /^connected$/, 30);

  step("alice leaves from the page");
  await page.click("#leave-btn");
  await page.locator("#party-none").waitFor({ state: "visible", timeout: 30000 });
  assert.equal(cli(cliAlice, "status").party, null, "the daemon is still in the party");
  await page.locator('tr[data-peer="bob"]').waitFor({ state: "detached", timeout: 15000 });
  await page.locator("#peers-empty").waitFor({ state: "visible", timeout: 15000 });

  step("signing out forgets the token");
  await page.click("#signout");
  await waitState(page, "signin");
  await page.reload();
  await waitState(page, "signin");

  step("signed in again, the page notices when lanraged stops");
  await page.goto(process.env.UI_URL);
  await waitState(page, "ready");
  process.kill(Number(process.env.ALICE_PID), "SIGTERM");
  await waitState(page, "unreachable", 20);
  assert.ok(await page.locator("#banner").isVisible(), "no banner for a stopped daemon");
  assert.deepEqual(problems, [], "the page logged errors");
  console.log("PASS");
} catch (e) {
  console.error(`FAIL at "${current}": ${e.message}`);
  if (problems.length) console.error(`page problems:\n  ${problems.join("\n  ")}`);
  try {
    console.error(`page text:\n${await page.locator("body").innerText()}`);
    await page.screenshot({ path: `${process.env.OUT_DIR}/ui-failure.png`, fullPage: true });
    console.error(`screenshot: ${process.env.OUT_DIR}/ui-failure.png`);
  } catch {}
  process.exitCode = 1;
} finally {
  await browser.close();
}
