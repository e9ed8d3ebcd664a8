/* test_noise.c - Noise_IKpsk2 between two parties: agreement, tampering, replays, floods. */
#include "test.h"

#include <string.h>

#include "crypto/aead.h"
#include "crypto/rand.h"
#include "crypto/x25519.h"
#include "wg/noise.h"

struct party {
	struct noise_local local;
	struct noise_handshake hs; /* of the other party */
};

static void make_pair(struct party *a, struct party *b, const uint8_t *psk)
{
	uint8_t ka[32], kb[32];

	x25519_generate(ka);
	x25519_generate(kb);
	noise_local_set(&a->local, ka);
	noise_local_set(&b->local, kb);
	noise_handshake_init(&a->hs, &a->local, b->local.public_key);
	noise_handshake_init(&b->hs, &b->local, a->local.public_key);
	noise_handshake_set_psk(&a->hs, psk);
	noise_handshake_set_psk(&b->hs, psk);
}

/* a initiates to b at wall time t; returns whether both derived matching keys. */
static bool handshake(struct party *a, struct party *b, int64_t wall_ns, uint64_t now_ns,
                      struct noise_keypair *ka, struct noise_keypair *kb)
{
	struct msg_initiation init;
	struct msg_response resp;
	struct noise_initiation_state st;
	uint8_t ts[NOISE_TIMESTAMP_LEN];

	noise_tai64n(ts, wall_ns);
	if (!noise_create_initiation(&a->hs, &a->local, 0x11111111, ts, &init))
		return false;
	if (!noise_consume_initiation_begin(&b->local, &init, &st))
		return false;
	if (memcmp(st.remote_static, a->local.public_key, 32) != 0)
		return false;
	if (!noise_consume_initiation_finish(&b->hs, &st, &init, now_ns))
		return false;
	if (!noise_create_response(&b->hs, 0x22222222, &resp))
		return false;
	if (!noise_consume_response(&a->hs, &a->local, &resp))
		return false;
	return noise_begin_session(&a->hs, ka, now_ns) && noise_begin_session(&b->hs, kb, now_ns);
}

static void test_agreement(void **state)
{
	struct party a, b;
	struct noise_keypair ka, kb;
	uint8_t msg[64] = "hello over wireguard", box[80], out[64];

	make_pair(&a, &b, NULL);
	assert_true(handshake(&a, &b, 1000000000000ll, 1, &ka, &kb));
	assert_memory_equal(ka.send_key, kb.recv_key, 32);
	assert_memory_equal(ka.recv_key, kb.send_key, 32);
	assert_memory_not_equal(ka.send_key, ka.recv_key, 32);
	assert_true(ka.i_am_initiator);
	assert_false(kb.i_am_initiator);
	assert_int_equal(ka.local_index, 0x11111111);
	assert_int_equal(ka.remote_index, 0x22222222);
	assert_int_equal(kb.local_index, 0x22222222);
	assert_int_equal(kb.remote_index, 0x11111111);
	aead_seal(box, msg, sizeof(msg), 0, NULL, 0, ka.send_key);
	assert_true(aead_open(out, box, sizeof(box), 0, NULL, 0, kb.recv_key));
	assert_memory_equal(out, msg, sizeof(msg));
	/* Handshake state is wiped after the session starts. */
	assert_int_equal(a.hs.state, HANDSHAKE_ZEROED);
	assert_true(memcmp(a.hs.chaining_key, (uint8_t[32]){ 0 }, 32) == 0);

	/* Another handshake gives fresh keys. */
	struct noise_keypair ka2, kb2;

	assert_true(handshake(&a, &b, 1000000000000ll + 1000000000, 100000000, &ka2, &kb2));
	assert_memory_not_equal(ka.send_key, ka2.send_key, 32);
	assert_memory_equal(ka2.send_key, kb2.recv_key, 32);
}

static void test_psk(void **state)
{
	struct party a, b;
	struct noise_keypair ka, kb;
	uint8_t psk[32], other[32];

	rand_bytes(psk, 32);
	make_pair(&a, &b, psk);
	assert_true(handshake(&a, &b, 1000000000000ll, 1, &ka, &kb));
	assert_memory_equal(ka.send_key, kb.recv_key, 32);
	/* Mismatched preshared keys: the initiator rejects the response. */
	rand_bytes(other, 32);
	make_pair(&a, &b, psk);
	noise_handshake_set_psk(&b.hs, other);
	assert_false(handshake(&a, &b, 1000000000000ll, 1, &ka, &kb));
}

static void test_wrong_responder(void **state)
{
	struct party a, b, c;
	struct msg_initiation init;
	struct noise_initiation_state st;
	uint8_t ts[NOISE_TIMESTAMP_LEN];

	make_pair(&a, &b, NULL);
	make_pair(&c, &c, NULL);
	noise_tai64n(ts, 1000000000000ll);
	assert_true(noise_create_initiation(&a.hs, &a.local, 1, ts, &init));
	/* Only the intended responder can read the initiator's identity. */
	assert_false(noise_consume_initiation_begin(&c.local, &init, &st));
	assert_true(noise_consume_initiation_begin(&b.local, &init, &st));
}

static void test_tampering(void **state)
{
	struct party a, b;
	struct msg_initiation init, bad;
	struct msg_response resp, badr;
	struct noise_initiation_state st;
	uint8_t ts[NOISE_TIMESTAMP_LEN];

	make_pair(&a, &b, NULL);
	noise_tai64n(ts, 1000000000000ll);
	assert_true(noise_create_initiation(&a.hs, &a.local, 1, ts, &init));
	/* Any flipped bit in the authenticated part breaks it. */
	for (size_t i = offsetof(struct msg_initiation, ephemeral);
	     i < offsetof(struct msg_initiation, macs); i += 7) {
		bad = init;
		((uint8_t *)&bad)[i] ^= 0x10;
		if (noise_consume_initiation_begin(&b.local, &bad, &st))
			assert_false(noise_consume_initiation_finish(&b.hs, &st, &bad, 1));
	}
	assert_true(noise_consume_initiation_begin(&b.local, &init, &st));
	assert_true(noise_consume_initiation_finish(&b.hs, &st, &init, 1));
	assert_true(noise_create_response(&b.hs, 2, &resp));
	for (size_t i = offsetof(struct msg_response, ephemeral);
	     i < offsetof(struct msg_response, macs); i += 3) {
		badr = resp;
		((uint8_t *)&badr)[i] ^= 0x01;
		assert_false(noise_consume_response(&a.hs, &a.local, &badr));
	}
	/* A forged response did not disturb the handshake: the real one still works. */
	assert_true(noise_consume_response(&a.hs, &a.local, &resp));
	/* And a second consumption of the same response is refused. */
	assert_false(noise_consume_response(&a.hs, &a.local, &resp));
}

static void test_replay_and_flood(void **state)
{
	struct party a, b;
	struct msg_initiation init1, init2;
	struct noise_initiation_state st;
	uint8_t ts[NOISE_TIMESTAMP_LEN];
	const uint64_t sec = 1000000000ull;

	make_pair(&a, &b, NULL);
	noise_tai64n(ts, 1000 * (int64_t)sec);
	assert_true(noise_create_initiation(&a.hs, &a.local, 1, ts, &init1));
	assert_true(noise_consume_initiation_begin(&b.local, &init1, &st));
	assert_true(noise_consume_initiation_finish(&b.hs, &st, &init1, 10 * sec));
	/* The same initiation again, even much later: replay. */
	assert_true(noise_consume_initiation_begin(&b.local, &init1, &st));
	assert_false(noise_consume_initiation_finish(&b.hs, &st, &init1, 20 * sec));
	/* A newer one too soon after the last (under 1/50 s): flood. */
	noise_tai64n(ts, 1001 * (int64_t)sec);
	assert_true(noise_create_initiation(&a.hs, &a.local, 2, ts, &init2));
	assert_true(noise_consume_initiation_begin(&b.local, &init2, &st));
	assert_false(noise_consume_initiation_finish(&b.hs, &st, &init2, 10 * sec + sec / 100));
	assert_true(noise_consume_initiation_begin(&b.local, &init2, &st));
	assert_true(noise_consume_initiation_finish(&b.hs, &st, &init2, 10 * sec + sec / 10));
}

static void test_tai64n(void **state)
{
	uint8_t a[12], b[12], c[12];

	noise_tai64n(a, 1700000000ll * 1000000000ll);
	noise_tai64n(b, 1700000000ll * 1000000000ll + 5000000);  /* within the whitening */
	noise_tai64n(c, 1700000000ll * 1000000000ll + 40000000); /* beyond it */
	assert_memory_equal(a, b, 12);
	assert_true(memcmp(a, c, 12) < 0);
	/* 2^62 + 10 + seconds, big-endian. */
	assert_int_equal(a[0], 0x40);
	assert_int_equal(a[7], (uint8_t)((0x0a + 1700000000ll) & 0xff));
}

static void test_low_order_peer(void **state)
{
	struct party a;
	struct noise_handshake hs;
	struct msg_initiation init;
	uint8_t k[32], zero[32] = { 0 }, ts[12] = { 0 };

	x25519_generate(k);
	noise_local_set(&a.local, k);
	/* The all-zero public key is low order: no handshake is possible with it. */
	noise_handshake_init(&hs, &a.local, zero);
	assert_false(noise_create_initiation(&hs, &a.local, 1, ts, &init));
	/* Nor without a local identity. */
	noise_local_clear(&a.local);
	noise_handshake_init(&hs, &a.local, k);
	assert_false(noise_create_initiation(&hs, &a.local, 1, ts, &init));
}

/*
 * A worker reads the clock before a batch; the control thread may install a
 * session born after that reading.  Such a session is new, not expired (once
 * it wrapped around, staged a sender's packets and dropped what it received).
 */
static void test_keypair_age(void **state)
{
	struct noise_keypair kp = { .birth_ns = 5000000000ull };

	assert_int_equal(keypair_age_ns(&kp, 5000000000ull), 0);
	assert_int_equal(keypair_age_ns(&kp, 4999999000ull), 0);
	assert_int_equal(keypair_age_ns(&kp, 1), 0);
	assert_int_equal(keypair_age_ns(&kp, 7000000000ull), 2000000000ull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agreement),        cmocka_unit_test(test_psk),
		cmocka_unit_test(test_wrong_responder),  cmocka_unit_test(test_tampering),
		cmocka_unit_test(test_replay_and_flood), cmocka_unit_test(test_tai64n),
		cmocka_unit_test(test_low_order_peer),   cmocka_unit_test(test_keypair_age),
	};

	if (!rand_init())
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
