/* timers.h - the per-peer protocol timers, driven by events from the packet path. */
#ifndef LANRAGE_WG_TIMERS_H
#define LANRAGE_WG_TIMERS_H

#include "wg/device.h"

/* Control thread: create and cancel a peer's timers. */
bool timers_init(struct wg_peer *peer) WARN_UNUSED;
void timers_stop(struct wg_peer *peer);
/* Control thread: a worker armed a timer that was idle (a door event). */
void timers_kick(struct wg_timer *t);

/* Events; the first five may come from any thread. */
void timers_data_sent(struct wg_peer *peer);
void timers_data_received(struct wg_peer *peer);
void timers_any_authenticated_packet_sent(struct wg_peer *peer);
void timers_any_authenticated_packet_received(struct wg_peer *peer);
void timers_any_authenticated_packet_traversal(struct wg_peer *peer);
/* Control thread only. */
void timers_handshake_initiated(struct wg_peer *peer);
void timers_handshake_complete(struct wg_peer *peer);
void timers_session_derived(struct wg_peer *peer);
void timers_persistent_keepalive_changed(struct wg_peer *peer);

#endif
