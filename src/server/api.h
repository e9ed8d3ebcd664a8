/* api.h - the API's handlers, one per route and method. */
#ifndef LANRAGE_SERVER_API_H
#define LANRAGE_SERVER_API_H

#include "server/http.h"

/* Calls the handler for rq's route and method (both already checked). */
void api_dispatch(struct request *rq);

/* Per concept: service (health, metrics), auth, parties, relays. */
void api_health(struct request *rq);
void api_metrics(struct request *rq);
void api_auth_challenge(struct request *rq);
void api_auth_register(struct request *rq);
void api_party_create(struct request *rq);
void api_party_get(struct request *rq);
void api_party_join(struct request *rq);
void api_party_peers(struct request *rq);
void api_party_peer_get(struct request *rq);
void api_party_peer_leave(struct request *rq);
void api_party_peer_update(struct request *rq);
void api_party_heartbeat(struct request *rq);
void api_party_events(struct request *rq);
void api_party_signal(struct request *rq);
void api_party_relay_token(struct request *rq);
void api_party_bans(struct request *rq);
void api_party_unban(struct request *rq);
void api_relays_put(struct request *rq);
void api_relays_list(struct request *rq);
void api_relays_region(struct request *rq);

#endif
