/* test_log.c - log line format, levels, rate limiting, whole lines under threads. */
#include "test.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

static int pipe_fds[2];

static int setup(void **state)
{
	if (pipe2(pipe_fds, O_NONBLOCK) < 0)
		return -1;
	fcntl(pipe_fds[0], F_SETPIPE_SZ, 1 << 20);
	log_init("test-log");
	log_set_fd(pipe_fds[1]);
	log_set_level(LL_INFO);
	return 0;
}

static int teardown(void **state)
{
	log_set_fd(2);
	close(pipe_fds[0]);
	close(pipe_fds[1]);
	return 0;
}

/* Everything logged since the last call. */
static char *drain(void)
{
	static char buf[1 << 20];
	ssize_t n = read(pipe_fds[0], buf, sizeof(buf) - 1);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void test_format(void **state)
{
	char expect[64], *out;
	int64_t year;

	drain();
	log_info("peer %s joined", "abc123");
	out = drain();
	/* "2026-11-21T20:00:00.123Z test-log[42] info: peer abc123 joined\n" */
	year = strtol(out, NULL, 10);
	assert_true(year >= 2024);
	assert_int_equal(out[10], 'T');
	assert_int_equal(out[23], 'Z');
	snprintf(expect, sizeof(expect), " test-log[%d] info: peer abc123 joined\n", (int)getpid());
	assert_string_equal(out + 24, expect);
}

static void test_levels(void **state)
{
	enum log_level l;

	drain();
	log_debug("hidden %d", 1);
	assert_string_equal(drain(), "");
	log_set_level(LL_DEBUG);
	log_debug("shown %d", 2);
	assert_non_null(strstr(drain(), "debug: shown 2"));
	log_set_level(LL_ERROR);
	log_info("hidden");
	assert_string_equal(drain(), "");
	log_error("bad thing");
	assert_non_null(strstr(drain(), "error: bad thing"));
	log_set_level(LL_INFO);

	assert_true(log_level_parse("DEBUG", &l));
	assert_int_equal(l, LL_DEBUG);
	assert_true(log_level_parse("error", &l));
	assert_int_equal(l, LL_ERROR);
	assert_false(log_level_parse("verbose", &l));
}

static void test_long_line_truncated(void **state)
{
	char big[4000], *out;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	drain();
	log_info("%s", big);
	out = drain();
	assert_true(strlen(out) < 1024);
	assert_int_equal(out[strlen(out) - 1], '\n');
}

static void test_ratelimit(void **state)
{
	char *out;
	int lines = 0;

	drain();
	for (int i = 0; i < 100; i++)
		log_ratelimited(LL_INFO, "flood %d", i);
	out = drain();
	for (char *p = out; (p = strchr(p, '\n')); p++)
		lines++;
	assert_int_equal(lines, LOG_RATELIMIT_BURST);
}

static void *writer(void *arg)
{
	for (int i = 0; i < 200; i++)
		log_info("thread %ld line %d %s", (long)(intptr_t)arg, i,
		         "padding-padding-padding-padding-padding-padding");
	return NULL;
}

static void test_threads_whole_lines(void **state)
{
	pthread_t t[4];
	char *out, *line;
	int n = 0;

	drain();
	for (long i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, writer, (void *)(intptr_t)i);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	out = drain();
	for (line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		assert_non_null(strstr(line, "info: thread "));
		assert_non_null(strstr(line, "-padding\0"));
		n++;
	}
	assert_int_equal(n, 800);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_long_line_truncated),
		cmocka_unit_test(test_ratelimit),
		cmocka_unit_test(test_threads_whole_lines),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
