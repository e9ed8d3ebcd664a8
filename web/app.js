/* app.js - lanraged's web UI: talks to the local API (docs/LOCAL_API.md).
 *
 * Everything that comes from the network (names, party names, error
 * messages) is put into the page with textContent, never as HTML.
 */
"use strict";

(() => {
	const TOKEN_KEY = "lanrage.token";
	const TOKEN_RE = /^[0-9a-fA-F]{64}$/;
	const FAST_MS = 2000; /* status and peers */
	const SLOW_MS = 10000; /* nat and settings */
	const READ_TIMEOUT_MS = 10000;
	const ACTION_TIMEOUT_MS = 30000;
	const PING_COUNT = 4;
	const UNREACHABLE = "lanraged is not reachable";
	const STATES = new Set(["self", "connecting", "connected", "degraded", "failed"]);
	const LINKS = new Set(["up", "connecting", "down"]);
	const NAT_NAMES = new Map([
		["unknown", "unknown"],
		["open", "open (no NAT)"],
		["full_cone", "full cone"],
		["restricted_cone", "restricted cone"],
		["port_restricted_cone", "port restricted cone"],
		["symmetric", "symmetric"],
		["blocked", "UDP blocked"],
	]);

	const $ = (id) => document.getElementById(id);
	const el = {
		banner: $("banner"),
		signin: $("signin"), signinForm: $("signin-form"), tokenInput: $("token-input"),
		signinMsg: $("signin-msg"),
		app: $("app"), hdrInfo: $("hdr-info"), signout: $("signout"),
		daemonName: $("daemon-name"), version: $("version"), control: $("control"), lane: $("lane"),
		partyNone: $("party-none"), createForm: $("create-form"), createName: $("create-name"),
		createBtn: $("create-btn"), joinForm: $("join-form"), joinId: $("join-id"), joinBtn: $("join-btn"),
		partyInfo: $("party-info"), partyName: $("party-name"), partyHost: $("party-host"),
		partyId: $("party-id"), partyCopy: $("party-copy"), partyMembers: $("party-members"),
		vip: $("vip"), vip6: $("vip6"), vip6Label: $("vip6-label"), vip6Row: $("vip6-row"),
		leaveBtn: $("leave-btn"), partyMsg: $("party-msg"), partyNote: $("party-note"),
		removed: $("removed"), removedList: $("removed-list"),
		peersBody: $("peers").tBodies[0], peersEmpty: $("peers-empty"), pingResult: $("ping-result"),
		natType: $("nat-type"), natPublic: $("nat-public"), natGlobal: $("nat-global"), natLocal: $("nat-local"),
		natStun: $("nat-stun"), natDetected: $("nat-detected"), natDetail: $("nat-detail"),
		natMsg: $("nat-msg"),
		settingsBody: $("settings").tBodies[0], settingsMsg: $("settings-msg"),
		favForm: $("fav-form"), favName: $("fav-name"), favAddress: $("fav-address"),
		favGame: $("fav-game"), favAdd: $("fav-add"), favBody: $("favorites").tBodies[0],
		favEmpty: $("fav-empty"), favMsg: $("fav-msg"),
		profForm: $("prof-form"), profName: $("prof-name"), profGame: $("prof-game"),
		profJson: $("prof-json"), profSave: $("prof-save"), profBody: $("profiles").tBodies[0],
		profEmpty: $("prof-empty"), profMsg: $("prof-msg"),
	};

	const state = {
		token: null,
		timer: 0, /* the next scheduled refresh */
		running: false, /* a refresh is under way */
		again: false, /* something changed during it: refresh once more at once */
		slowDue: true, /* load nat and settings in the next refresh */
		lastSlow: 0,
		partyBusy: false,
		pinging: null, /* the peer a ping runs for */
		canKick: false, /* the party's host, on a coordination server */
	};

	/* Errors api() throws, so callers can tell them apart. */
	class ApiError extends Error {} /* lanraged answered with an error */
	class Unreachable extends Error {} /* no answer at all */
	class SignedOut extends Error {} /* no token, or lanraged refused it */

	/* ---- small helpers ---- */

	function setText(node, text) {
		const t = text == null || text === "" ? "–" : String(text);
		if (node.textContent !== t)
			node.textContent = t;
	}

	/* A message line: kind is "", "ok", "error" or "busy" (a class for colour). */
	function setMsg(node, text, kind = "") {
		node.textContent = text;
		node.className = kind ? `msg ${kind}` : "msg";
	}

	function make(tag, className, text) {
		const n = document.createElement(tag);
		if (className)
			n.className = className;
		if (text != null)
			n.textContent = text;
		return n;
	}

	function plural(n, word) {
		return `${n} ${word}${n === 1 ? "" : "s"}`;
	}

	function fixed1(v) {
		return typeof v === "number" ? v.toFixed(1) : "–";
	}

	function bytes(n) {
		const units = ["B", "KiB", "MiB", "GiB", "TiB"];
		let i = 0;

		if (typeof n !== "number")
			return "–";
		while (n >= 1024 && i < units.length - 1) {
			n /= 1024;
			i++;
		}
		return i ? `${n.toFixed(1)} ${units[i]}` : `${n} B`;
	}

	/* "12 s ago", "3 min ago"... from an ISO 8601 time. */
	function ago(iso) {
		const t = Date.parse(iso);
		let s;

		if (!iso)
			return "–";
		if (Number.isNaN(t))
			return String(iso);
		s = Math.max(0, Math.round((Date.now() - t) / 1000));
		if (s < 90)
			return `${s} s ago`;
		if (s < 90 * 60)
			return `${Math.round(s / 60)} min ago`;
		if (s < 36 * 3600)
			return `${Math.round(s / 3600)} h ago`;
		return `${Math.round(s / 86400)} d ago`;
	}

	function natName(t) {
		return t == null ? "–" : NAT_NAMES.get(t) || String(t).replace(/_/g, " ");
	}

	function list(a) {
		return Array.isArray(a) && a.length ? a.join(", ") : "–";
	}

	/* ---- token ---- */

	function storeToken(token) {
		try {
			if (token)
				localStorage.setItem(TOKEN_KEY, token);
			else
				localStorage.removeItem(TOKEN_KEY);
		} catch (e) {
			/* storage disabled: the token lives as long as the page */
		}
	}

	function storedToken() {
		try {
			return localStorage.getItem(TOKEN_KEY);
		} catch (e) {
			return null;
		}
	}

	/* Why a typed token is not one, or "" when it is. */
	function tokenProblem(t) {
		if (TOKEN_RE.test(t))
			return "";
		if (!t)
			return "Paste the token: 64 hex digits.";
		if (t.length !== 64)
			return `A token is 64 hex digits (0-9, a-f); this is ${plural(t.length, "character")}.`;
		return "A token is 64 hex digits (0-9, a-f); this has other characters.";
	}

	/* Takes #token=<hex> from the address (lanrage ui prints it) and drops the fragment. */
	function takeHashToken() {
		const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
		let t;

		if (!m)
			return false;
		history.replaceState(null, "", location.pathname + location.search);
		t = decodeURIComponent(m[1]).trim();
		if (tokenProblem(t)) {
			showSignin(`The address held no valid token. ${tokenProblem(t)}`);
			return true;
		}
		signIn(t);
		return true;
	}

	/* ---- the API ---- */

	async function api(method, path, body, timeoutMs = READ_TIMEOUT_MS) {
		const token = state.token;
		const ctl = new AbortController();
		const timer = setTimeout(() => ctl.abort(), timeoutMs);
		const init = {
			method,
			headers: { Authorization: `Bearer ${token}` },
			cache: "no-store",
			signal: ctl.signal,
		};
		let res, data;

		if (!token)
			throw new SignedOut("not signed in");
		if (body !== undefined) {
			init.headers["Content-Type"] = "application/json";
			init.body = JSON.stringify(body);
		}
		try {
			res = await fetch(path, init);
			data = await res.json().catch(() => null); /* libevent's own errors are HTML */
		} catch (e) {
			throw new Unreachable(UNREACHABLE);
		} finally {
			clearTimeout(timer);
		}
		if (res.status === 401) {
			if (state.token === token)
				showSignin("lanraged refused the token. Sign in again.");
			throw new SignedOut("token refused");
		}
		if (!res.ok) {
			const msg = data && typeof data.error === "string" ? data.error : "";
			throw new ApiError(msg || `HTTP ${res.status} ${res.statusText}`.trim());
		}
		if (!data || typeof data !== "object")
			throw new ApiError("lanraged's answer is not JSON");
		return data;
	}

	/* An action's error as a line for the user ("" for a refused token: sign-in shows it). */
	function errorText(e) {
		if (e instanceof SignedOut)
			return "";
		if (e instanceof ApiError || e instanceof Unreachable)
			return e.message;
		console.error(e);
		return String(e);
	}

	/* ---- refreshing ---- */

	/* Runs one refresh now, or right after the one under way (never two at once). */
	function refreshNow() {
		if (state.running) {
			state.again = true;
			return;
		}
		refresh();
	}

	async function refresh() {
		clearTimeout(state.timer);
		state.running = true;
		state.again = false;
		try {
			await loadAll();
		} finally {
			state.running = false;
		}
		if (state.token)
			state.timer = setTimeout(refresh, state.again ? 0 : FAST_MS);
	}

	async function loadAll() {
		const slow = state.slowDue || Date.now() - state.lastSlow >= SLOW_MS;

		try {
			const [status, peers] = await Promise.all([api("GET", "/api/status"), api("GET", "/api/peers")]);

			if (!state.token)
				return;
			renderStatus(status);
			renderPeers(peers);
			if (slow) {
				state.slowDue = false;
				state.lastSlow = Date.now();
				await Promise.all([loadNat(), loadSettings(), loadFavorites(), loadProfiles(), loadBans()]);
			}
			el.banner.hidden = true;
			document.body.dataset.state = "ready";
		} catch (e) {
			if (e instanceof SignedOut)
				return;
			if (e instanceof Unreachable) {
				state.slowDue = true; /* reload everything once it is back */
				document.body.dataset.state = "unreachable";
			}
			showBanner(errorText(e));
		}
	}

	function showBanner(text) {
		el.banner.textContent = text;
		el.banner.hidden = false;
	}

	/* A section's loader: its own API errors (503: nothing to say yet) stay in its message line. */
	async function loadSection(path, render, msg) {
		try {
			render(await api("GET", path));
		} catch (e) {
			if (!(e instanceof ApiError))
				throw e;
			setMsg(msg, e.message, "error");
		}
	}

	const loadNat = () => loadSection("/api/nat", (n) => {
		renderNat(n);
		setMsg(el.natMsg, "");
	}, el.natMsg);
	const loadSettings = () => loadSection("/api/settings", renderSettings, el.settingsMsg);
	const loadFavorites = () => loadSection("/api/favorites", renderFavorites, el.favMsg);
	const loadProfiles = () => loadSection("/api/game-profiles", renderProfiles, el.profMsg);

	/* ---- rendering ---- */

	function renderStatus(s) {
		const nat = s.nat || {};

		setText(el.daemonName, s.name);
		setText(el.version, s.version);
		renderControl(s.control || {});
		renderLane((s.interface || {}).priority_lane);
		renderParty(s.party, s.virtual_ip, s.virtual_ip6);
		/* With local discovery nobody can keep anyone out (the API says so too). */
		const could = state.canKick;
		state.canKick = !!(s.party && s.party.is_host && s.control && s.control.mode === "remote");
		if (state.canKick !== could)
			loadBans();
		setText(el.partyNote, s.party ? "" : s.party_note || "");
		setText(el.natType, natName(nat.type));
		setText(el.natPublic, nat.public_endpoint);
		setText(el.natGlobal, nat.global_endpoint || "none");
	}

	/* The data plane's lane for small packets other than TCP (games, voice, pings). */
	const LANES = {
		open: ["on", "Small packets (games, voice, pings) go ahead of downloads"],
		closed: ["paused", "A flood of small packets closed the lane for a while; it reopens by itself"],
		off: ["off", "The kernel refused the lane's programs (it needs CAP_BPF and CAP_SYS_NICE)"],
	};

	function renderLane(lane) {
		const [text, why] = LANES[lane] || ["–", ""];

		setText(el.lane, text);
		el.lane.title = why;
	}

	function renderControl(c) {
		let text = [c.mode, c.link, c.where].filter(Boolean).join(" · ");

		if (c.detail)
			text += ` — ${c.detail}`;
		setText(el.control, text);
		el.control.className = `control link-${LINKS.has(c.link) ? c.link : "unknown"}`;
	}

	function renderParty(p, vip, vip6) {
		el.partyNone.hidden = p != null;
		el.partyInfo.hidden = p == null;
		if (p == null)
			return;
		setText(el.partyName, p.name);
		setText(el.partyId, p.party_id);
		el.partyHost.hidden = !p.is_host;
		setText(el.partyMembers, `${plural(p.members, "member")}, ${p.connected} connected`);
		setText(el.vip, vip);
		/* none on a machine without IPv6 */
		el.vip6Label.hidden = el.vip6Row.hidden = !vip6;
		setText(el.vip6, vip6);
	}

	/*
	 * Updates a tbody in place, one row per item keyed by data-<attr>, so rows,
	 * buttons and inputs survive a refresh (and a focused input keeps focus).
	 */
	function syncRows(tbody, items, attr, keyOf, create, update) {
		const old = new Map();

		for (const tr of tbody.rows)
			old.set(tr.dataset[attr], tr);
		items.forEach((item, i) => {
			const key = keyOf(item);
			let tr = old.get(key);

			if (tr) {
				old.delete(key);
			} else {
				tr = create();
				tr.dataset[attr] = key;
			}
			update(tr, item);
			if (tbody.rows[i] !== tr)
				tbody.insertBefore(tr, tbody.rows[i] || null);
		});
		for (const tr of old.values())
			tr.remove();
	}

	const PEER_CELLS = ["name", "vip", "state", "path", "endpoint", "rtt", "nat", "handshake", "traffic", "actions"];

	function createPeerRow() {
		const tr = document.createElement("tr");

		for (const c of PEER_CELLS)
			tr.appendChild(make("td", c === "rtt" ? "rtt num" : c));
		return tr;
	}

	/* "relay eu-1", "direct", "direct (IPv6)" (the current path is the member's IPv6 address). */
	function pathText(p) {
		const cur = Array.isArray(p.candidates) ? p.candidates.find((c) => c && c.current) : null;

		if (p.path === "relay")
			return `relay ${p.relay || ""}`.trim();
		if (p.path === "direct" && cur && cur.kind === "ipv6")
			return "direct (IPv6)";
		return p.path === "none" ? "" : p.path;
	}

	function updatePeerRow(tr, p) {
		const cell = (c) => tr.querySelector(`td.${c}`);
		const st = STATES.has(p.state) ? p.state : "unknown";
		const name = cell("name"), badge = make("span", `badge st-${st}`, String(p.state));
		const actions = cell("actions");
		let btn = actions.querySelector("button.ping");

		tr.dataset.peer = String(p.name);
		name.replaceChildren(document.createTextNode(String(p.name)));
		if (p.self)
			name.append(" ", make("span", "you", "you"));
		/* The IPv6 address under the IPv4 one, where the party has IPv6. */
		cell("vip").replaceChildren(document.createTextNode(String(p.virtual_ip || "")));
		if (p.virtual_ip6)
			cell("vip").append(make("span", "vip6", p.virtual_ip6));
		if (cell("state").textContent !== badge.textContent || !cell("state").querySelector(`.st-${st}`))
			cell("state").replaceChildren(badge);
		setText(cell("path"), pathText(p));
		setText(cell("endpoint"), p.endpoint);
		setText(cell("rtt"), fixed1(p.rtt_ms));
		setText(cell("nat"), natName(p.nat_type));
		setText(cell("handshake"), p.last_handshake ? ago(p.last_handshake) : "never");
		cell("handshake").title = p.last_handshake || "";
		setText(cell("traffic"), `↓ ${bytes(p.rx_bytes)} ↑ ${bytes(p.tx_bytes)}`);
		cell("traffic").title = `received ${p.rx_bytes} bytes, sent ${p.tx_bytes} bytes`;
		if (p.self && btn) {
			btn.remove();
		} else if (!p.self && !btn) {
			btn = make("button", "ping small", "Ping");
			btn.type = "button";
			actions.appendChild(btn);
		}
		/* The host removes a member: only shown where the daemon can do it. */
		let kick = actions.querySelector("button.kick");
		if (!p.self && state.canKick && !kick) {
			kick = make("button", "kick small danger", "Remove");
			kick.type = "button";
			kick.title = "Remove from the party; they cannot join it again";
			actions.appendChild(kick);
		} else if ((p.self || !state.canKick) && kick) {
			kick.remove();
		}
	}

	async function kick(peerId, name) {
		if (!window.confirm(`Remove ${name} from the party? They will not be able to join it again.`))
			return;
		setMsg(el.partyMsg, "");
		try {
			const r = await api("POST", "/api/party/kick", { peer: peerId }, ACTION_TIMEOUT_MS);
			setMsg(el.partyMsg, `Removed ${r.name || name} from the party.`, "ok");
		} catch (e) {
			setMsg(el.partyMsg, errorText(e), "error");
		}
		refreshNow();
		loadBans(true);
	}

	/* The host's removed members, each with a way back in; report: say so when the list cannot be had. */
	async function loadBans(report = false) {
		if (!state.canKick) {
			el.removed.hidden = true;
			return;
		}
		try {
			const r = await api("GET", "/api/party/bans", undefined, ACTION_TIMEOUT_MS);
			renderBans(Array.isArray(r.removed) ? r.removed : []);
		} catch (e) {
			if (report && !(e instanceof SignedOut))
				setMsg(el.partyMsg, `Cannot list removed members: ${errorText(e)}`, "error");
		}
	}

	function renderBans(list) {
		el.removedList.replaceChildren(...list.map((b) => {
			const li = make("li");
			const name = b.name || "(no name)";
			const btn = make("button", "unban small", "Let back in");

			li.dataset.peerId = b.peer_id;
			li.dataset.name = name;
			btn.type = "button";
			btn.setAttribute("aria-label", `Let ${name} back in`);
			li.append(make("span", "name", name), " ", make("code", "", b.peer_id), " ", btn);
			return li;
		}));
		el.removed.hidden = list.length === 0;
	}

	async function unban(peerId, name) {
		setMsg(el.partyMsg, "");
		try {
			await api("POST", "/api/party/unban", { peer: peerId }, ACTION_TIMEOUT_MS);
			setMsg(el.partyMsg, `${name} may join the party again.`, "ok");
		} catch (e) {
			setMsg(el.partyMsg, errorText(e), "error");
		}
		loadBans(true);
	}

	function renderPeers(data) {
		const peers = Array.isArray(data.peers) ? data.peers : [];

		/* Keyed by peer id: two members may share a name. */
		syncRows(el.peersBody, peers, "peerId", (p) => String(p.peer_id || p.name), createPeerRow, updatePeerRow);
		updatePingButtons();
		el.peersEmpty.hidden = peers.length > 0;
		el.peersEmpty.textContent = data.party_id ? "No members yet" : "Not in a party";
	}

	/* One ping at a time: the others wait, the running one says so. */
	function updatePingButtons() {
		for (const btn of el.peersBody.querySelectorAll("button.ping")) {
			const mine = btn.closest("tr").dataset.peerId === state.pinging;

			btn.disabled = state.pinging !== null;
			btn.textContent = mine ? "Pinging…" : "Ping";
		}
	}

	function renderNat(n) {
		setText(el.natType, natName(n.type));
		setText(el.natPublic, n.public_endpoint);
		setText(el.natGlobal, n.global_endpoint || "none");
		setText(el.natLocal, list(n.local_endpoints));
		setText(el.natStun, list(n.stun_servers));
		setText(el.natDetected, n.detected_at ? `${new Date(n.detected_at).toLocaleString()} (${ago(n.detected_at)})` : "not yet");
		setText(el.natDetail, n.detail);
	}

	/* A setting's value as text: numbers as they are, "" shown as (empty). */
	function settingText(v) {
		if (v === null || v === undefined)
			return "–";
		return v === "" ? "(empty)" : String(v);
	}

	function createSettingRow() {
		const tr = document.createElement("tr");
		const key = make("th", "key");

		key.scope = "row";
		tr.append(key, make("td", "value"), make("td", "source"), make("td", "stored"), make("td", "change"));
		return tr;
	}

	function updateSettingRow(tr, [key, s]) {
		const change = tr.querySelector("td.change");
		let input = change.querySelector("input.edit");
		let reset = change.querySelector("button.reset");

		setText(tr.querySelector(".key"), key);
		setText(tr.querySelector("td.value"), settingText(s.value));
		setText(tr.querySelector("td.source"), s.source);
		setText(tr.querySelector("td.stored"), settingText(s.stored));
		tr.dataset.numeric = typeof s.value === "number" ? "1" : "";
		if (!s.writable) {
			if (input || !change.textContent)
				change.replaceChildren(make("span", "muted", "read-only"));
			return;
		}
		if (!input) {
			const save = make("button", "save small", "Save");

			change.replaceChildren();
			input = make("input", "edit");
			input.type = "text";
			input.autocomplete = "off";
			input.spellcheck = false;
			input.setAttribute("aria-label", `New value for ${key}`);
			save.type = "button";
			change.append(input, save);
		}
		/* Keep what the user is typing; otherwise show the running value. */
		if (!input.dataset.dirty && document.activeElement !== input)
			input.value = s.value == null ? "" : String(s.value);
		if (s.stored !== null && !reset) {
			reset = make("button", "reset small ghost", "Reset");
			reset.type = "button";
			reset.title = "Forget the stored value";
			change.appendChild(reset);
		} else if (s.stored === null && reset) {
			reset.remove();
		}
	}

	function renderSettings(data) {
		const items = Object.entries(data.settings || {});

		syncRows(el.settingsBody, items, "key", ([k]) => k, createSettingRow, updateSettingRow);
	}

	/* A row of text cells named by cells, and a cell of buttons (label, class). */
	function rowMaker(cells, buttons) {
		return () => {
			const tr = document.createElement("tr");
			const actions = make("td", "actions");

			for (const c of cells)
				tr.appendChild(make("td", c));
			for (const [label, cls] of buttons) {
				const b = make("button", `${cls} small ghost`, label);

				b.type = "button";
				actions.appendChild(b);
			}
			tr.appendChild(actions);
			return tr;
		};
	}

	const createFavoriteRow = rowMaker(["name", "game", "address", "added"], [["Remove", "remove"]]);

	function updateFavoriteRow(tr, f) {
		tr.dataset.name = String(f.name);
		setText(tr.querySelector("td.name"), f.name);
		setText(tr.querySelector("td.game"), f.game);
		setText(tr.querySelector("td.address"), f.address);
		setText(tr.querySelector("td.added"), ago(f.added_at));
		tr.querySelector("td.added").title = f.added_at || "";
		tr.querySelector("button.remove").setAttribute("aria-label", `Remove ${f.name}`);
	}

	function renderFavorites(data) {
		const items = Array.isArray(data.favorites) ? data.favorites : [];

		syncRows(el.favBody, items, "id", (f) => String(f.server_id), createFavoriteRow, updateFavoriteRow);
		el.favEmpty.hidden = items.length > 0;
	}

	const createProfileRow = rowMaker(["name", "game", "profile", "updated"], [["Edit", "edit"], ["Remove", "remove"]]);

	function updateProfileRow(tr, p) {
		const json = JSON.stringify(p.profile ?? {});

		tr.dataset.profile = json;
		tr.dataset.game = p.game || "";
		setText(tr.querySelector("td.name"), p.name);
		setText(tr.querySelector("td.game"), p.game);
		setText(tr.querySelector("td.profile"), json.length > 120 ? `${json.slice(0, 119)}…` : json);
		setText(tr.querySelector("td.updated"), ago(p.updated_at));
		tr.querySelector("td.updated").title = p.updated_at || "";
		tr.querySelector("button.edit").setAttribute("aria-label", `Edit ${p.name}`);
		tr.querySelector("button.remove").setAttribute("aria-label", `Remove ${p.name}`);
	}

	function renderProfiles(data) {
		const items = Array.isArray(data.profiles) ? data.profiles : [];

		syncRows(el.profBody, items, "name", (p) => String(p.name), createProfileRow, updateProfileRow);
		el.profEmpty.hidden = items.length > 0;
	}

	/* ---- actions ---- */

	/* Runs a change to the kept lists: the button busy meanwhile, the outcome in msg. */
	async function libraryAction(btn, msg, busyText, request, okText, reload) {
		btn.disabled = true;
		setMsg(msg, busyText, "busy");
		try {
			await request();
			setMsg(msg, okText, "ok");
			await reload();
			return true;
		} catch (e) {
			setMsg(msg, errorText(e), "error");
			return false;
		} finally {
			btn.disabled = false;
		}
	}

	async function onFavAdd(ev) {
		const name = el.favName.value.trim(), address = el.favAddress.value.trim();
		const game = el.favGame.value.trim();

		ev.preventDefault();
		if (!name || !address) {
			setMsg(el.favMsg, "A favourite needs a name and an address.", "error");
			(name ? el.favAddress : el.favName).focus();
			return;
		}
		if (await libraryAction(el.favAdd, el.favMsg, `Adding ${name}…`,
			() => api("POST", "/api/favorites", game ? { name, address, game } : { name, address }),
			`Added ${name}.`, loadFavorites)) {
			el.favForm.reset();
		}
	}

	function onFavClick(ev) {
		const btn = ev.target.closest("button.remove");
		const tr = btn && btn.closest("tr");

		if (!tr || btn.disabled)
			return;
		libraryAction(btn, el.favMsg, `Removing ${tr.dataset.name}…`,
			() => api("DELETE", `/api/favorites/${encodeURIComponent(tr.dataset.id)}`),
			`Removed ${tr.dataset.name}.`, loadFavorites);
	}

	/* The textarea's JSON object, or null with the reason shown. */
	function profileValue() {
		let v;

		try {
			v = JSON.parse(el.profJson.value);
		} catch (e) {
			setMsg(el.profMsg, `The profile is not JSON: ${e.message}`, "error");
			return null;
		}
		if (v === null || typeof v !== "object" || Array.isArray(v)) {
			setMsg(el.profMsg, "The profile must be a JSON object: { ... }.", "error");
			return null;
		}
		return v;
	}

	async function onProfSave(ev) {
		const name = el.profName.value.trim(), game = el.profGame.value.trim();
		let profile;

		ev.preventDefault();
		if (!name) {
			setMsg(el.profMsg, "A profile needs a name.", "error");
			el.profName.focus();
			return;
		}
		profile = profileValue();
		if (!profile) {
			el.profJson.focus();
			return;
		}
		await libraryAction(el.profSave, el.profMsg, `Saving ${name}…`,
			() => api("POST", "/api/game-profiles", game ? { name, game, profile } : { name, profile }),
			`Saved ${name}.`, loadProfiles);
	}

	function onProfClick(ev) {
		const btn = ev.target.closest("button");
		const tr = btn && btn.closest("tr");

		if (!tr || btn.disabled)
			return;
		if (btn.classList.contains("edit")) {
			el.profName.value = tr.dataset.name;
			el.profGame.value = tr.dataset.game;
			el.profJson.value = JSON.stringify(JSON.parse(tr.dataset.profile), null, 2);
			setMsg(el.profMsg, `Editing ${tr.dataset.name}: Save profile replaces it.`);
			el.profJson.focus();
		} else if (btn.classList.contains("remove")) {
			libraryAction(btn, el.profMsg, `Removing ${tr.dataset.name}…`,
				() => api("DELETE", `/api/game-profiles/${encodeURIComponent(tr.dataset.name)}`),
				`Removed ${tr.dataset.name}.`, loadProfiles);
		}
	}

	/* Runs a party action: buttons disabled, progress on the one clicked, errors in #party-msg. */
	async function partyAction(btn, busyText, path, body, done) {
		const label = btn.textContent;
		const buttons = [el.createBtn, el.joinBtn, el.leaveBtn];

		if (state.partyBusy)
			return;
		state.partyBusy = true;
		buttons.forEach((b) => { b.disabled = true; });
		btn.textContent = busyText;
		setMsg(el.partyMsg, "");
		try {
			done(await api("POST", path, body, ACTION_TIMEOUT_MS));
		} catch (e) {
			setMsg(el.partyMsg, errorText(e), "error");
		} finally {
			btn.textContent = label;
			buttons.forEach((b) => { b.disabled = false; });
			state.partyBusy = false;
			state.slowDue = true;
			refreshNow();
		}
	}

	function onCreate(ev) {
		const name = el.createName.value;

		ev.preventDefault();
		if (!name.trim()) {
			setMsg(el.partyMsg, "Give the party a name.", "error");
			return;
		}
		partyAction(el.createBtn, "Creating…", "/api/party", { name }, (p) => {
			el.createName.value = "";
			renderParty(p, p.virtual_ip);
		});
	}

	function onJoin(ev) {
		const id = el.joinId.value.trim();

		ev.preventDefault();
		if (!id) {
			setMsg(el.partyMsg, "Type the party id the host gave you.", "error");
			return;
		}
		partyAction(el.joinBtn, "Joining…", "/api/party/join", { party_id: id }, (p) => {
			el.joinId.value = "";
			renderParty(p, p.virtual_ip);
		});
	}

	function onLeave() {
		partyAction(el.leaveBtn, "Leaving…", "/api/party/leave", {}, () => {
			renderParty(null);
			renderPeers({ party_id: null, peers: [] });
		});
	}

	/* Briefly shows text on a button, then its label again. */
	function flash(btn, text) {
		if (!btn.dataset.label)
			btn.dataset.label = btn.textContent;
		btn.textContent = text;
		clearTimeout(Number(btn.dataset.timer));
		btn.dataset.timer = String(setTimeout(() => {
			btn.textContent = btn.dataset.label;
		}, 1500));
	}

	async function onCopy() {
		const id = el.partyId.textContent;

		try {
			await navigator.clipboard.writeText(id);
			flash(el.partyCopy, "Copied");
		} catch (e) {
			/* no clipboard (or refused): select the id for Ctrl+C */
			const range = document.createRange();

			range.selectNodeContents(el.partyId);
			getSelection().removeAllRanges();
			getSelection().addRange(range);
			flash(el.partyCopy, "Press Ctrl+C");
		}
	}

	function pingLine(name, r) {
		let line = `${r.name || name}: ${r.received}/${r.sent} replies`;

		if (r.received)
			line += `, min/avg/max ${fixed1(r.min_ms)}/${fixed1(r.avg_ms)}/${fixed1(r.max_ms)} ms`;
		return `${line} via ${r.path}`;
	}

	/* Pings the member with this id (shown by name: names need not be unique). */
	async function ping(id, name) {
		if (state.pinging !== null)
			return;
		state.pinging = id;
		updatePingButtons();
		setMsg(el.pingResult, `Pinging ${name}…`, "busy");
		try {
			const r = await api("POST", "/api/ping", { peer: id, count: PING_COUNT },
				READ_TIMEOUT_MS + 2000 * PING_COUNT);

			setMsg(el.pingResult, pingLine(name, r), r.received ? "ok" : "error");
		} catch (e) {
			setMsg(el.pingResult, e instanceof SignedOut ? "" : `${name}: ${errorText(e)}`, "error");
		} finally {
			state.pinging = null;
			updatePingButtons();
		}
	}

	/* PATCHes one setting from its row; value null forgets the stored one. */
	async function patchSetting(tr, value) {
		const key = tr.dataset.key;
		const buttons = tr.querySelectorAll("button");
		const input = tr.querySelector("input.edit");

		buttons.forEach((b) => { b.disabled = true; });
		setMsg(el.settingsMsg, `Saving ${key}…`, "busy");
		try {
			const r = await api("PATCH", "/api/settings", { [key]: value });

			delete input.dataset.dirty;
			input.blur();
			for (const [k, s] of Object.entries(r.settings || {})) {
				const row = [...el.settingsBody.rows].find((x) => x.dataset.key === k);

				if (row)
					updateSettingRow(row, [k, s]);
			}
			setMsg(el.settingsMsg, "saved", "ok");
		} catch (e) {
			setMsg(el.settingsMsg, errorText(e), "error");
		} finally {
			buttons.forEach((b) => { b.disabled = false; });
			state.slowDue = true;
			refreshNow();
		}
	}

	/* An integer for a numeric setting when the text is one, else the text as typed. */
	function inputValue(tr) {
		const raw = tr.querySelector("input.edit").value;
		const n = Number(raw.trim());

		if (tr.dataset.numeric && /^-?\d+$/.test(raw.trim()) && Number.isSafeInteger(n))
			return n;
		return raw;
	}

	function onSettingsClick(ev) {
		const btn = ev.target.closest("button");
		const tr = btn && btn.closest("tr");

		if (!tr || btn.disabled)
			return;
		if (btn.classList.contains("save"))
			patchSetting(tr, inputValue(tr));
		else if (btn.classList.contains("reset"))
			patchSetting(tr, null);
	}

	function onSettingsKey(ev) {
		const tr = ev.target.closest("tr");

		if (ev.key === "Enter" && ev.target.matches("input.edit") && !tr.querySelector("button.save").disabled)
			patchSetting(tr, inputValue(tr));
	}

	/* ---- signing in and out ---- */

	function resetView() {
		el.peersBody.replaceChildren();
		el.settingsBody.replaceChildren();
		el.favBody.replaceChildren();
		el.profBody.replaceChildren();
		[el.partyMsg, el.pingResult, el.settingsMsg, el.natMsg, el.favMsg, el.profMsg].forEach((n) => setMsg(n, ""));
	}

	function showSignin(msg, kind = "error") {
		state.token = null;
		storeToken(null);
		clearTimeout(state.timer);
		resetView();
		el.app.hidden = true;
		el.hdrInfo.hidden = true;
		el.banner.hidden = true;
		el.signin.hidden = false;
		setMsg(el.signinMsg, msg || "", msg ? kind : "");
		document.body.dataset.state = "signin";
	}

	function signIn(token) {
		state.token = token;
		storeToken(token);
		state.slowDue = true;
		el.signin.hidden = true;
		el.app.hidden = false;
		el.hdrInfo.hidden = false;
		setMsg(el.signinMsg, "");
		refreshNow();
	}

	function onSigninSubmit(ev) {
		let t = el.tokenInput.value.trim();
		const fromUrl = /token=([0-9a-fA-F]{64})/.exec(t); /* the whole address pasted */

		ev.preventDefault();
		if (fromUrl)
			t = fromUrl[1];
		if (tokenProblem(t)) {
			setMsg(el.signinMsg, tokenProblem(t), "error");
			return;
		}
		el.tokenInput.value = "";
		signIn(t);
	}

	function start() {
		el.signinForm.addEventListener("submit", onSigninSubmit);
		el.signout.addEventListener("click", () => showSignin("Signed out.", "ok"));
		el.createForm.addEventListener("submit", onCreate);
		el.joinForm.addEventListener("submit", onJoin);
		el.leaveBtn.addEventListener("click", onLeave);
		el.partyCopy.addEventListener("click", onCopy);
		el.peersBody.addEventListener("click", (ev) => {
			const btn = ev.target.closest("button.ping");
			const kickBtn = ev.target.closest("button.kick");

			if (btn && !btn.disabled)
				ping(btn.closest("tr").dataset.peerId, btn.closest("tr").dataset.peer);
			if (kickBtn)
				kick(kickBtn.closest("tr").dataset.peerId, kickBtn.closest("tr").dataset.peer);
		});
		el.removedList.addEventListener("click", (ev) => {
			const btn = ev.target.closest("button.unban");

			if (btn)
				unban(btn.closest("li").dataset.peerId, btn.closest("li").dataset.name);
		});
		el.settingsBody.addEventListener("click", onSettingsClick);
		el.settingsBody.addEventListener("keydown", onSettingsKey);
		el.settingsBody.addEventListener("input", (ev) => {
			if (ev.target.matches("input.edit"))
				ev.target.dataset.dirty = "1";
		});
		el.favForm.addEventListener("submit", onFavAdd);
		el.favBody.addEventListener("click", onFavClick);
		el.profForm.addEventListener("submit", onProfSave);
		el.profBody.addEventListener("click", onProfClick);
		/* `lanrage ui`'s address pasted into an open tab only changes the fragment */
		window.addEventListener("hashchange", takeHashToken);

		if (takeHashToken())
			return;
		const saved = storedToken();
		if (saved && TOKEN_RE.test(saved))
			signIn(saved);
		else
			showSignin("");
	}

	start();
})();
