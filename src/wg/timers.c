/* timers.c - the per-peer protocol timers, driven by events from the packet path.
 *
 * The timers of the WireGuard paper (section 6), per peer:
 *   retransmit_handshake  REKEY_TIMEOUT + jitter after sending an initiation: send
 *                         it again, up to MAX_TIMER_HANDSHAKES times, then give up
 *                         and drop staged packets.
 *   send_keepalive        KEEPALIVE_TIMEOUT after receiving data with nothing sent
 *                         back: send an empty (keepalive) packet.
 *   new_handshake         KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + jitter after sending
 *                         data with nothing heard back: start a new handshake.
 *   zero_key_material     REJECT_AFTER_TIME x 3 after the last session began (or
 *                         after giving up): erase every key of the peer.
 *   persistent_keepalive  the configured interval after any authenticated packet
 *                         in either direction: send a keepalive (NAT bindings).
 * Rekeying after REKEY_AFTER_TIME/MESSAGES is decided per packet (send.c,
 * receive.c), not here.
 *
 * A timer is an atomic deadline plus a libevent timer owned by the control
 * thread.  Any thread may move the deadline; the libevent timer fires at the
 * time it was scheduled for (published in scheduled_ns), does nothing if the
 * timer was cancelled, and re-schedules itself if the deadline has moved
 * later.  Cancelling leaves it scheduled.  So the packet path arms, extends
 * or cancels a timer with atomic stores, and wakes the control thread (a door
 * event) only for a deadline earlier than the scheduled one: in ping-pong
 * traffic, where timers are armed and cancelled at every packet, about once
 * per timer period rather than per packet.  For that, a kick that finds its
 * timer already cancelled (the reply went out before the control thread woke)
 * still schedules it, at the deadline the kick asked for; firing then finds
 * nothing to do.  Otherwise nothing would be scheduled and the next packet
 * would kick again: a wake-up of the control thread, on another CPU, per packet.
 */
#include "wg/timers.h"

#include "crypto/rand.h"
#include "util/log.h"
#include "util/now.h"
#include "wg/peer.h"
#include "wg/send.h"

static bool on_control_thread(const struct wg_peer *peer)
{
	return pthread_equal(pthread_self(), peer->dev->control_thread);
}

/*
 * Control thread: makes sure the libevent timer fires no later than the deadline,
 * or than park_ns (a deadline since cancelled) when the timer is not pending.
 */
static void schedule_or_park(struct wg_timer *t, uint64_t park_ns)
{
	uint64_t d = atomic_load(&t->deadline_ns), s = atomic_load(&t->scheduled_ns);
	uint64_t now, wait;
	struct timeval tv;

	if (!d)
		d = park_ns;
	if (!d || (s && s <= d))
		return;
	now = now_mono_ns();
	wait = d > now ? d - now : 0;
	tv = (struct timeval){ .tv_sec = (time_t)(wait / NS_PER_SEC),
		               .tv_usec = (suseconds_t)(wait % NS_PER_SEC / 1000) };
	atomic_store(&t->scheduled_ns, d);
	evtimer_add(t->ev, &tv);
}

static void schedule(struct wg_timer *t)
{
	schedule_or_park(t, 0);
}

/*
 * After a deadline was stored: the control thread schedules directly; a worker
 * kicks it only when the timer would otherwise fire too late.  (The worker
 * stores the deadline, then reads scheduled_ns; fire() clears scheduled_ns,
 * then reads the deadline: one of the two sees the other's store.)
 */
static void deadline_moved(struct wg_peer *peer, struct wg_timer *t, uint64_t d)
{
	uint64_t s;

	if (on_control_thread(peer)) {
		schedule(t);
		return;
	}
	s = atomic_load(&t->scheduled_ns);
	if (!s || s > d) {
		atomic_store(&t->kick_ns, d);
		STAT(peer->dev, timer_kicks);
		door_push_event(&peer->dev->door, WG_EV_TIMER_KICK, t);
	}
}

/* Starts or moves a timer to fire at now + delay. */
static void mod_timer(struct wg_peer *peer, enum wg_timer_id id, uint64_t delay_ns)
{
	struct wg_timer *t = &peer->timers[id];
	uint64_t d = now_mono_ns() + delay_ns;

	atomic_store(&t->deadline_ns, d);
	deadline_moved(peer, t, d);
}

/* Starts a timer only if it is idle; returns whether it was idle. */
static bool add_timer_if_idle(struct wg_peer *peer, enum wg_timer_id id, uint64_t delay_ns)
{
	struct wg_timer *t = &peer->timers[id];
	uint64_t idle = 0, d;

	if (atomic_load_explicit(&t->deadline_ns, memory_order_relaxed))
		return false;
	d = now_mono_ns() + delay_ns;
	if (!atomic_compare_exchange_strong(&t->deadline_ns, &idle, d))
		return false;
	deadline_moved(peer, t, d);
	return true;
}

static void del_timer(struct wg_peer *peer, enum wg_timer_id id)
{
	struct wg_timer *t = &peer->timers[id];

	if (atomic_load_explicit(&t->deadline_ns, memory_order_relaxed))
		atomic_store(&t->deadline_ns, 0);
}

static bool pending(const struct wg_peer *peer, enum wg_timer_id id)
{
	return atomic_load_explicit(&peer->timers[id].deadline_ns, memory_order_relaxed) != 0;
}

/*
 * Up to a fifteenth of REKEY_TIMEOUT (333 ms of 5 s), as the kernel does.  Jitter
 * only spreads retries, so a per-thread xorshift seeded once is plenty: the
 * packet path must not make a getrandom() call per packet.
 */
static uint64_t jitter_ns(const struct wg_peer *peer)
{
	static _Thread_local uint64_t state;
	uint64_t span = peer->dev->timing.rekey_timeout_ns / 15 / 1000 + 1;

	if (!state)
		state = rand_u64() | 1;
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return state % span * 1000;
}

static unsigned max_attempts(const struct wg_device *dev)
{
	return (unsigned)(dev->timing.rekey_attempt_ns / dev->timing.rekey_timeout_ns);
}

static void expired_retransmit_handshake(struct wg_peer *peer)
{
	struct wg_device *dev = peer->dev;

	if (peer->handshake_attempts > max_attempts(dev)) {
		log_info("peer %s: handshake did not complete after %u attempts, giving up",
		         peer->name, peer->handshake_attempts + 1);
		del_timer(peer, TIMER_SEND_KEEPALIVE);
		peer_flush_staged(peer);
		if (!pending(peer, TIMER_ZERO_KEY_MATERIAL))
			mod_timer(peer, TIMER_ZERO_KEY_MATERIAL, dev->timing.reject_after_ns * 3);
		return;
	}
	peer->handshake_attempts++;
	log_debug("peer %s: handshake did not complete after %llu ms, retrying (attempt %u)",
	          peer->name, (unsigned long long)(dev->timing.rekey_timeout_ns / NS_PER_MS),
	          peer->handshake_attempts + 1);
	send_handshake_initiation(peer, true);
}

static void expired_send_keepalive(struct wg_peer *peer)
{
	send_keepalive(peer);
	if (atomic_exchange(&peer->need_another_keepalive, false))
		mod_timer(peer, TIMER_SEND_KEEPALIVE, peer->dev->timing.keepalive_ns);
}

static void expired_new_handshake(struct wg_peer *peer)
{
	log_debug("peer %s: nothing heard back for %llu ms, starting a new handshake", peer->name,
	          (unsigned long long)((peer->dev->timing.keepalive_ns +
	                                peer->dev->timing.rekey_timeout_ns) /
	                               NS_PER_MS));
	send_handshake_initiation(peer, false);
}

static void expired_zero_key_material(struct wg_peer *peer)
{
	log_debug("peer %s: erasing all keys after %llu s without a new session", peer->name,
	          (unsigned long long)(peer->dev->timing.reject_after_ns * 3 / NS_PER_SEC));
	peer_zero_keys(peer);
}

static void expired_persistent_keepalive(struct wg_peer *peer)
{
	if (atomic_load(&peer->keepalive_interval_sec))
		send_keepalive(peer);
}

static void (*const handlers[TIMER_COUNT])(struct wg_peer *) = {
	[TIMER_RETRANSMIT_HANDSHAKE] = expired_retransmit_handshake,
	[TIMER_SEND_KEEPALIVE] = expired_send_keepalive,
	[TIMER_NEW_HANDSHAKE] = expired_new_handshake,
	[TIMER_ZERO_KEY_MATERIAL] = expired_zero_key_material,
	[TIMER_PERSISTENT_KEEPALIVE] = expired_persistent_keepalive,
};

static void fire(evutil_socket_t fd, short what, void *arg)
{
	struct wg_timer *t = arg;
	uint64_t d;

	atomic_store(&t->scheduled_ns, 0);
	d = atomic_load(&t->deadline_ns);
	if (!d || atomic_load(&t->peer->dead))
		return;
	if (d > now_mono_ns()) {
		schedule(t); /* moved later meanwhile */
		return;
	}
	if (!atomic_compare_exchange_strong(&t->deadline_ns, &d, 0)) {
		schedule(t);
		return;
	}
	handlers[t->id](t->peer);
	wg_device_commit(t->peer->dev);
}

bool timers_init(struct wg_peer *peer)
{
	for (int i = 0; i < TIMER_COUNT; i++) {
		struct wg_timer *t = &peer->timers[i];

		atomic_init(&t->deadline_ns, 0);
		atomic_init(&t->scheduled_ns, 0);
		atomic_init(&t->kick_ns, 0);
		t->peer = peer;
		t->id = (enum wg_timer_id)i;
		t->ev = evtimer_new(peer->dev->base, fire, t);
		if (!t->ev) {
			timers_stop(peer);
			return false;
		}
	}
	return true;
}

void timers_stop(struct wg_peer *peer)
{
	for (int i = 0; i < TIMER_COUNT; i++) {
		atomic_store(&peer->timers[i].deadline_ns, 0);
		if (peer->timers[i].ev) {
			event_free(peer->timers[i].ev);
			peer->timers[i].ev = NULL;
		}
	}
}

void timers_kick(struct wg_timer *t)
{
	if (!atomic_load(&t->peer->dead) && t->ev)
		schedule_or_park(t, atomic_exchange(&t->kick_ns, 0));
}

void timers_data_sent(struct wg_peer *peer)
{
	const struct wg_timing *tm = &peer->dev->timing;

	if (!pending(peer, TIMER_NEW_HANDSHAKE))
		add_timer_if_idle(peer, TIMER_NEW_HANDSHAKE,
		                  tm->keepalive_ns + tm->rekey_timeout_ns + jitter_ns(peer));
}

void timers_data_received(struct wg_peer *peer)
{
	if (!add_timer_if_idle(peer, TIMER_SEND_KEEPALIVE, peer->dev->timing.keepalive_ns))
		atomic_store_explicit(&peer->need_another_keepalive, true, memory_order_relaxed);
}

void timers_any_authenticated_packet_sent(struct wg_peer *peer)
{
	del_timer(peer, TIMER_SEND_KEEPALIVE);
}

void timers_any_authenticated_packet_received(struct wg_peer *peer)
{
	del_timer(peer, TIMER_NEW_HANDSHAKE);
}

void timers_any_authenticated_packet_traversal(struct wg_peer *peer)
{
	uint16_t interval =
	    atomic_load_explicit(&peer->keepalive_interval_sec, memory_order_relaxed);

	if (interval)
		mod_timer(peer, TIMER_PERSISTENT_KEEPALIVE, interval * (uint64_t)NS_PER_SEC);
}

void timers_handshake_initiated(struct wg_peer *peer)
{
	mod_timer(peer, TIMER_RETRANSMIT_HANDSHAKE,
	          peer->dev->timing.rekey_timeout_ns + jitter_ns(peer));
}

void timers_handshake_complete(struct wg_peer *peer)
{
	del_timer(peer, TIMER_RETRANSMIT_HANDSHAKE);
	peer->handshake_attempts = 0;
	atomic_store(&peer->sent_lastminute_handshake, false);
	atomic_store(&peer->last_handshake_wall_ns, now_wall_ns());
}

void timers_session_derived(struct wg_peer *peer)
{
	mod_timer(peer, TIMER_ZERO_KEY_MATERIAL, peer->dev->timing.reject_after_ns * 3);
}

void timers_persistent_keepalive_changed(struct wg_peer *peer)
{
	if (!atomic_load(&peer->keepalive_interval_sec))
		del_timer(peer, TIMER_PERSISTENT_KEEPALIVE);
}
