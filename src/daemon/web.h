/* web.h - the web UI's files (web/), built into lanraged by cmake/embed.cmake. */
#ifndef LANRAGE_DAEMON_WEB_H
#define LANRAGE_DAEMON_WEB_H

#include <stddef.h>

struct web_asset {
	const char *path; /* "/" for index.html, else "/" + the file's name */
	const char *type; /* its Content-Type */
	const unsigned char *data;
	size_t len;
};

/* Every file of web/, then an entry whose path is NULL. */
extern const struct web_asset web_assets[];

#endif
