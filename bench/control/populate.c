/* populate.c - fills a lanrage-control with registered peers in parties, for bench/control.
 *
 *   populate URL PEERS PARTIES OUT
 *
 * Registers PEERS fresh keys with the proof-of-key handshake, makes PARTIES
 * parties and joins the rest of the peers to them round-robin, with up to 64
 * pipelines in flight, each its own client.  Writes one line per peer to OUT:
 * "party_id peer_id token".
 */
#include <event2/event.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/control_client.h"
#include "control/party_id.h"
#include "crypto/key.h"
#include "crypto/rand.h"
#include "crypto/secret.h"
#include "util/now.h"

enum { PIPELINES = 64 };

struct peer_slot {
	char party_id[PARTY_ID_LEN + 1];
	char peer_id[PEER_ID_MAX + 1];
	char token[CONTROL_TOKEN_HEX + 1];
};

struct run {
	struct event_base *base;
	const char *url;
	size_t peers, parties, next, done, failed;
	struct peer_slot *slots;
	bool creating; /* phase one: the first `parties` peers create */
};

struct pipe_state {
	struct run *run;
	struct control_client *c;
	size_t index;
};

static void start_next(struct pipe_state *p);

static void finish(struct pipe_state *p, bool ok, const char *what, const struct control_reply *r)
{
	if (!ok) {
		fprintf(stderr, "populate: peer %zu: %s: %d %s\n", p->index, what, r->status,
		        r->error ? r->error : "");
		p->run->failed++;
	}
	control_client_destroy(p->c);
	p->c = NULL;
	p->run->done++;
	start_next(p);
}

static void on_party(const struct control_reply *r, void *arg)
{
	struct pipe_state *p = arg;
	struct peer_slot *slot = &p->run->slots[p->index];
	const char *id = json_string_value(json_object_get(r->body, "party_id"));

	if ((r->status == 201 || r->status == 200) && id)
		snprintf(slot->party_id, sizeof(slot->party_id), "%s", id);
	finish(p, (r->status == 201 || r->status == 200) && id, "create/join", r);
}

static void on_registered(const struct control_reply *r, void *arg)
{
	struct pipe_state *p = arg;
	struct run *run = p->run;
	struct peer_slot *slot = &run->slots[p->index];
	struct peer_info self;
	int rc;

	if (r->status != 200) {
		finish(p, false, "register", r);
		return;
	}
	snprintf(slot->peer_id, sizeof(slot->peer_id), "%s", control_client_peer_id(p->c));
	snprintf(slot->token, sizeof(slot->token), "%s", control_client_token(p->c));
	peer_info_init(&self);
	snprintf(self.name, sizeof(self.name), "bench-%zu", p->index);
	self.nat_type = NAT_FULL_CONE;
	addr_from_in4(&self.public_endpoint,
	              (struct in_addr){ .s_addr = htonl(0xC6336400u + (uint32_t)(p->index % 250)) },
	              (uint16_t)(20000 + p->index % 40000));
	if (p->index < run->parties)
		rc = control_party_create(p->c, "bench party", &self, on_party, p);
	else
		rc = control_party_join(p->c, run->slots[p->index % run->parties].party_id, &self,
		                        on_party, p);
	if (rc) {
		struct control_reply fake = { .error = "could not queue" };

		finish(p, false, "create/join", &fake);
	}
}

static void start_next(struct pipe_state *p)
{
	struct run *run = p->run;
	size_t limit = run->creating ? run->parties : run->peers;
	wg_key priv;

	if (run->next >= limit)
		return;
	p->index = run->next++;
	p->c = control_client_create(run->base, run->url, NULL);
	if (!p->c) {
		fprintf(stderr, "populate: bad URL %s\n", run->url);
		exit(2);
	}
	key_generate_private(priv);
	control_client_set_key(p->c, priv);
	secret_zero(priv, sizeof(priv));
	if (control_register(p->c, on_registered, p) != 0) {
		struct control_reply fake = { .error = "could not queue" };

		finish(p, false, "register", &fake);
	}
}

static void phase(struct run *run, struct pipe_state *pipes, size_t until)
{
	for (size_t i = 0; i < PIPELINES; i++) {
		pipes[i].run = run;
		start_next(&pipes[i]);
	}
	while (run->done < until && !run->failed)
		event_base_loop(run->base, EVLOOP_ONCE);
}

int main(int argc, char **argv)
{
	struct run run = { 0 };
	struct pipe_state pipes[PIPELINES] = { 0 };
	uint64_t t0;
	FILE *out;

	if (argc != 5) {
		fprintf(stderr, "usage: populate URL PEERS PARTIES OUT\n");
		return 2;
	}
	if (!rand_init())
		return 1;
	run.url = argv[1];
	run.peers = strtoul(argv[2], NULL, 10);
	run.parties = strtoul(argv[3], NULL, 10);
	if (run.parties == 0 || run.peers < run.parties)
		return 2;
	run.slots = calloc(run.peers, sizeof(*run.slots));
	run.base = event_base_new();
	t0 = now_mono_ms();
	run.creating = true;
	phase(&run, pipes, run.parties);
	run.creating = false;
	phase(&run, pipes, run.peers);
	if (run.failed) {
		fprintf(stderr, "populate: %zu failures\n", run.failed);
		return 1;
	}
	fprintf(stderr, "populate: %zu peers in %zu parties in %.1f s\n", run.peers, run.parties,
	        (double)(now_mono_ms() - t0) / 1000.0);
	out = fopen(argv[4], "w");
	if (!out)
		return 1;
	for (size_t i = 0; i < run.peers; i++)
		fprintf(out, "%s %s %s\n", run.slots[i].party_id, run.slots[i].peer_id,
		        run.slots[i].token);
	fclose(out);
	secret_zero(run.slots, run.peers * sizeof(*run.slots));
	free(run.slots);
	event_base_free(run.base);
	return 0;
}
