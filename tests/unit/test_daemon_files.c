/* test_daemon_files.c - lanraged's own files: the identity key and the state file. */
#include "test.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/rand.h"
#include "daemon/identity.h"
#include "daemon/state.h"
#include "util/err.h"
#include "util/file.h"
#include "util/now.h"

static char dir[64];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/lanrage-daemon-files-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* The first start makes a key (0600); later starts load it: the peer id stays. */
static void test_identity(void **state)
{
	struct identity a, b;
	char path[128];
	struct stat st;
	errmsg err;

	snprintf(path, sizeof(path), "%s/private.key", dir);
	assert_int_equal(identity_load(&a, path, err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(strlen(a.peer_id), 16);
	assert_int_equal(identity_load(&b, path, err), 0);
	assert_string_equal(a.peer_id, b.peer_id);
	assert_memory_equal(a.public_key, b.public_key, KEY_LEN);
	identity_clear(&b);
	/* A key others can read is refused, and the error does not show it. */
	assert_int_equal(chmod(path, 0644), 0);
	assert_true(identity_load(&b, path, err) < 0);
	assert_null(strstr(err, a.public_b64));
	identity_clear(&a);
}

static bool written(struct state_store *s, uint64_t writes)
{
	return s->writes >= writes;
}

static void run_until_written(struct event_base *base, struct state_store *s, uint64_t writes)
{
	uint64_t deadline = now_mono_ms() + 5000;

	while (!written(s, writes) && now_mono_ms() < deadline)
		event_base_loop(base, EVLOOP_ONCE);
	assert_true(written(s, writes));
}

/* Changes are written in batches, atomically, and read back on the next start. */
static void test_state(void **state)
{
	struct event_base *base = event_base_new();
	struct state_store s, again;
	char path[128], aside[160];
	struct stat st;
	errmsg err = "";
	uint64_t t0;

	snprintf(path, sizeof(path), "%s/state.json", dir);
	assert_int_equal(state_store_open(&s, base, path, err), 0);
	assert_string_equal(s.st.party_id, "");
	/* Three quick changes: one write, about 100 ms later. */
	t0 = now_mono_ms();
	snprintf(s.st.party_id, sizeof(s.st.party_id), "HEN3-G1R2-37JD-VJ6R");
	snprintf(s.st.party_name, sizeof(s.st.party_name), "Friday LAN");
	state_store_changed(&s);
	snprintf(s.st.mode, sizeof(s.st.mode), "remote");
	snprintf(s.st.where, sizeof(s.st.where), "http://198.51.100.1:8667");
	state_store_changed(&s);
	assert_true(addr_parse_ip(&s.st.virtual_ip, "10.66.137.4", err));
	state_store_changed(&s);
	run_until_written(base, &s, 1);
	assert_int_equal(s.writes, 1);
	assert_true(now_mono_ms() - t0 >= STATE_FLUSH_MS - 5);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	state_store_close(&s);

	assert_int_equal(state_store_open(&again, base, path, err), 0);
	assert_string_equal(again.st.party_id, "HEN3-G1R2-37JD-VJ6R");
	assert_string_equal(again.st.party_name, "Friday LAN");
	assert_string_equal(again.st.where, "http://198.51.100.1:8667");
	assert_true(addr_equal_ip(&again.st.virtual_ip, &s.st.virtual_ip));
	state_store_close(&again);

	/* A damaged file is kept aside, not lost, and the daemon starts in no party. */
	assert_int_equal(file_write_atomic(path, "{\"party_id\": 42", 15, 0600), 0);
	err[0] = '\0';
	assert_int_equal(state_store_open(&again, base, path, err), 0);
	assert_string_equal(again.st.party_id, "");
	assert_non_null(strstr(err, ".corrupt"));
	snprintf(aside, sizeof(aside), "%s.corrupt", path);
	assert_int_equal(stat(aside, &st), 0);
	state_store_close(&again);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_state),
	};

	if (!rand_init())
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
