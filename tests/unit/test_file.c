/* test_file.c - atomic replacement and bounded whole-file reads. */
#include "test.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/file.h"

static char dir[64];

static int setup(void **state)
{
	strcpy(dir, "/tmp/lanrage-test-file-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

/* Temporary files left in the directory. */
static int count_tmp_files(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while ((e = readdir(d)))
		n += strstr(e->d_name, ".tmp.") != NULL;
	closedir(d);
	return n;
}

static void test_write_read(void **state)
{
	char path[128], *data;
	struct stat st;
	size_t len;

	snprintf(path, sizeof(path), "%s/state.json", dir);
	assert_int_equal(file_write_atomic(path, "first", 5, 0600), 0);
	assert_int_equal(file_write_atomic(path, "second!", 7, 0640), 0);
	assert_int_equal(file_read_all(path, 100, &data, &len), 0);
	assert_int_equal(len, 7);
	assert_string_equal(data, "second!");
	free(data);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	/* No temporary file is left behind. */
	assert_int_equal(count_tmp_files(), 0);
}

static void test_failure_keeps_old(void **state)
{
	char path[128], *data;
	size_t len;

	snprintf(path, sizeof(path), "%s/keep", dir);
	assert_int_equal(file_write_atomic(path, "old", 3, 0600), 0);
	/* A target that is a directory cannot be replaced; the write fails cleanly. */
	snprintf(path, sizeof(path), "%s/adir", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_true(file_write_atomic(path, "new", 3, 0600) < 0);
	snprintf(path, sizeof(path), "%s/keep", dir);
	assert_int_equal(file_read_all(path, 100, &data, &len), 0);
	assert_string_equal(data, "old");
	free(data);
	assert_int_equal(count_tmp_files(), 0);
	snprintf(path, sizeof(path), "%s/no/such/dir/x", dir);
	assert_int_equal(file_write_atomic(path, "x", 1, 0600), -ENOENT);
}

static void test_read_limits(void **state)
{
	char path[128], *data, big[10000];
	size_t len;

	snprintf(path, sizeof(path), "%s/big", dir);
	memset(big, 'a', sizeof(big));
	assert_int_equal(file_write_atomic(path, big, sizeof(big), 0600), 0);
	assert_int_equal(file_read_all(path, sizeof(big) - 1, &data, &len), -EFBIG);
	assert_null(data);
	assert_int_equal(file_read_all(path, sizeof(big), &data, &len), 0);
	assert_int_equal(len, sizeof(big));
	free(data);
	snprintf(path, sizeof(path), "%s/empty", dir);
	assert_int_equal(file_write_atomic(path, "", 0, 0600), 0);
	assert_int_equal(file_read_all(path, 10, &data, &len), 0);
	assert_int_equal(len, 0);
	assert_string_equal(data, "");
	free(data);
	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_int_equal(file_read_all(path, 10, &data, &len), -ENOENT);
}

static void test_mkdirs(void **state)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/a/b/c", dir);
	assert_int_equal(file_mkdirs(path, 0700), 0);
	assert_int_equal(file_mkdirs(path, 0700), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_read),
		cmocka_unit_test(test_failure_keeps_old),
		cmocka_unit_test(test_read_limits),
		cmocka_unit_test(test_mkdirs),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
