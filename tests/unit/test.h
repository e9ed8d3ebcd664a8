/* test.h - what every unit test includes: cmocka and its prerequisites. */
#ifndef LANRAGE_TESTS_UNIT_TEST_H
#define LANRAGE_TESTS_UNIT_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#endif
