/* test_jsonx.c - typed field access naming bad fields; JSON files. */
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/err.h"
#include "util/jsonx.h"

static json_t *parse(const char *text)
{
	json_t *v = jsonx_parse_object(text, strlen(text), NULL);

	assert_non_null(v);
	return v;
}

static void test_strings(void **state)
{
	json_t *o = parse("{\"name\":\"abc\",\"n\":5,\"nul\":null,\"long\":\"abcdefgh\"}");
	char out[8] = "keep";
	bool present;
	errmsg err;

	assert_true(jsonx_get_str(o, "name", out, sizeof(out), true, &present, err));
	assert_true(present);
	assert_string_equal(out, "abc");
	assert_false(jsonx_get_str(o, "n", out, sizeof(out), true, NULL, err));
	assert_string_equal(err, "field 'n': expected a string");
	assert_false(jsonx_get_str(o, "missing", out, sizeof(out), true, NULL, err));
	assert_string_equal(err, "field 'missing': missing");
	strcpy(out, "keep");
	assert_true(jsonx_get_str(o, "missing", out, sizeof(out), false, &present, err));
	assert_false(present);
	assert_string_equal(out, "keep");
	/* null counts as absent. */
	assert_true(jsonx_get_str(o, "nul", out, sizeof(out), false, &present, err));
	assert_false(present);
	assert_false(jsonx_get_str(o, "nul", out, sizeof(out), true, &present, err));
	assert_false(jsonx_get_str(o, "long", out, sizeof(out), true, NULL, err));
	assert_string_equal(err, "field 'long': too long (8 bytes, at most 7)");
	json_decref(o);
}

static void test_embedded_nul(void **state)
{
	json_t *o = json_object();
	char out[8];
	errmsg err;

	/* The parser refuses \u0000 outright; values built in code are checked too. */
	const char *text = "{\"s\":\"a\\u0000b\"}";

	assert_null(jsonx_parse_object(text, strlen(text), err));
	assert_non_null(strstr(err, "\\u0000 is not allowed"));
	json_object_set_new(o, "s", json_stringn("a\0b", 3));
	assert_false(jsonx_get_str(o, "s", out, sizeof(out), true, NULL, err));
	assert_string_equal(err, "field 's': contains a NUL character");
	json_decref(o);
}

static void test_ints_bools(void **state)
{
	json_t *o = parse("{\"port\":51820,\"big\":70000,\"f\":1.5,\"b\":true,\"s\":\"x\"}");
	int64_t v = 0;
	bool b = false, present;
	errmsg err;

	assert_true(jsonx_get_int(o, "port", 1, 65535, &v, true, NULL, err));
	assert_int_equal(v, 51820);
	assert_false(jsonx_get_int(o, "big", 1, 65535, &v, true, NULL, err));
	assert_string_equal(err, "field 'big': 70000 is out of range [1, 65535]");
	assert_false(jsonx_get_int(o, "f", 1, 65535, &v, true, NULL, err));
	assert_string_equal(err, "field 'f': expected an integer");
	assert_true(jsonx_get_int(o, "none", 1, 2, &v, false, &present, err));
	assert_false(present);
	assert_true(jsonx_get_bool(o, "b", &b, true, NULL, err));
	assert_true(b);
	assert_false(jsonx_get_bool(o, "s", &b, true, NULL, err));
	assert_string_equal(err, "field 's': expected true or false");
	json_decref(o);
}

static void test_parse_errors(void **state)
{
	static const char *const bad[] = {
		"", "{", "[1,2]", "\"str\"", "{\"a\":1,\"a\":2}", "{\"a\":1} trailing"
	};
	errmsg err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_null(jsonx_parse_object(bad[i], strlen(bad[i]), err));
		assert_true(strlen(err) > 0);
	}
	assert_null(jsonx_parse_object("[1]", 3, err));
	assert_string_equal(err, "expected a JSON object");
	/* Not NUL-terminated input is read only to len. */
	json_t *o = jsonx_parse_object("{}garbage", 2, err);

	assert_non_null(o);
	json_decref(o);
}

static void test_files(void **state)
{
	char path[] = "/tmp/lanrage-test-jsonx-XXXXXX";
	int fd = mkstemp(path);
	json_t *o = parse("{\"a\":[1,2,3],\"b\":\"x\"}"), *back;
	struct stat st;
	errmsg err;

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(jsonx_write_file(path, o, 0600), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	back = jsonx_read_file(path, 1000, err);
	assert_non_null(back);
	assert_true(json_equal(o, back));
	json_decref(back);
	assert_null(jsonx_read_file(path, 5, err));
	assert_non_null(strstr(err, "larger than 5 bytes"));
	unlink(path);
	assert_null(jsonx_read_file(path, 1000, err));
	assert_non_null(strstr(err, "No such file"));
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strings),    cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_ints_bools), cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
