/* store.c - opening a store by URL, the versioned schema, and query helpers. */
#include "server/store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/log.h"

/*
 * Schema versions, applied in order, each in one transaction with the
 * version bump.  Never edit a released step: add a new one.  The SQL is
 * portable between SQLite and PostgreSQL (BIGINT holds milliseconds since the
 * epoch; TEXT holds ids, keys in base64 and addresses in text form).
 */
static const char *const schema_v1[] = {
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
	"CREATE TABLE peers (peer_id TEXT PRIMARY KEY, public_key TEXT NOT NULL,"
	" registered_at BIGINT NOT NULL)",
	"CREATE TABLE tokens (token_hash TEXT PRIMARY KEY, peer_id TEXT NOT NULL,"
	" created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL)",
	"CREATE INDEX tokens_expires ON tokens (expires_at)",
	"CREATE TABLE parties (party_id TEXT PRIMARY KEY, name TEXT NOT NULL,"
	" host_id TEXT NOT NULL, created_at BIGINT NOT NULL)",
	"CREATE TABLE members (party_id TEXT NOT NULL REFERENCES parties (party_id)"
	" ON DELETE CASCADE, peer_id TEXT NOT NULL, name TEXT NOT NULL,"
	" public_key TEXT NOT NULL, nat_type TEXT NOT NULL, public_ip TEXT,"
	" public_port INTEGER, local_ip TEXT, local_port INTEGER, virtual_ip TEXT NOT NULL,"
	" joined_at BIGINT NOT NULL, last_seen BIGINT NOT NULL,"
	" PRIMARY KEY (party_id, peer_id), UNIQUE (party_id, virtual_ip))",
	"CREATE INDEX members_last_seen ON members (last_seen)",
	/* Every address a peer held in a party, kept after it leaves. */
	"CREATE TABLE addresses (party_id TEXT NOT NULL REFERENCES parties (party_id)"
	" ON DELETE CASCADE, peer_id TEXT NOT NULL, virtual_ip TEXT NOT NULL,"
	" PRIMARY KEY (party_id, peer_id), UNIQUE (party_id, virtual_ip))",
	"CREATE TABLE relays (relay_id TEXT PRIMARY KEY, public_ip TEXT NOT NULL,"
	" port INTEGER NOT NULL, region TEXT NOT NULL, capacity INTEGER NOT NULL,"
	" registered_at BIGINT NOT NULL, last_seen BIGINT NOT NULL)",
	"CREATE INDEX relays_region ON relays (region)",
	NULL,
};

/* Members' IPv6 global endpoints (a direct path where both have IPv6). */
static const char *const schema_v2[] = {
	"ALTER TABLE members ADD COLUMN global_ip TEXT",
	"ALTER TABLE members ADD COLUMN global_port INTEGER",
	NULL,
};

/* Members a party's host removed, kept out of that party while it exists. */
static const char *const schema_v3[] = {
	"CREATE TABLE bans (party_id TEXT NOT NULL REFERENCES parties (party_id)"
	" ON DELETE CASCADE, peer_id TEXT NOT NULL, banned_at BIGINT NOT NULL,"
	" PRIMARY KEY (party_id, peer_id))",
	NULL,
};

/* The removed member's name, for the host's list of them. */
static const char *const schema_v4[] = {
	"ALTER TABLE bans ADD COLUMN name TEXT",
	NULL,
};

static const char *const *const schema[] = { schema_v1, schema_v2, schema_v3, schema_v4 };

static int open_driver(struct store *s, const char *url, char *err)
{
	memset(s, 0, sizeof(*s));
	if (strlen(url) >= sizeof(s->url)) {
		err_set(err, "database URL is too long");
		return -EINVAL;
	}
	if (strncmp(url, "sqlite:", 7) == 0)
		s->ops = &store_sqlite_ops;
	else if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0)
		s->ops = &store_pg_ops;
	else {
		err_set(err, "database URL `%.64s' is neither sqlite: nor postgresql://", url);
		return -EINVAL;
	}
	strcpy(s->url, url);
	return s->ops->open(s, url, err);
}

static bool version_row(void *arg, int ncols, const char *const *cols)
{
	int64_t *v = arg;

	if (ncols > 0 && cols[0] && !store_col_int(cols[0], v))
		*v = -1;
	return false;
}

static int migrate(struct store *s, char *err)
{
	int64_t version = 0;
	int rc;

	rc = store_begin(s, err);
	if (rc)
		return rc;
	/* Several instances may start at once: the first migrates, the others wait. */
	if (s->ops->dialect == STORE_POSTGRES) {
		rc = store_query(s, "SELECT pg_advisory_xact_lock(7266024)", NULL, 0, NULL, NULL,
		                 err);
		if (rc)
			goto err;
	}
	rc = store_query(s, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
	                 NULL, 0, NULL, NULL, err);
	if (rc)
		goto err;
	rc = store_query(s, "SELECT MAX(version) FROM schema_version", NULL, 0, version_row,
	                 &version, err);
	if (rc)
		goto err;
	if (version < 0 || version > (int64_t)ARRAY_SIZE(schema)) {
		err_set(err, "database schema version %lld is newer than this server knows (%zu)",
		        (long long)version, ARRAY_SIZE(schema));
		rc = -EPROTO;
		goto err;
	}
	for (size_t v = (size_t)version; v < ARRAY_SIZE(schema); v++) {
		for (const char *const *sql = schema[v]; *sql; sql++) {
			rc = store_query(s, *sql, NULL, 0, NULL, NULL, err);
			if (rc)
				goto err;
		}
		log_info("store: migrated %s schema to version %zu", s->ops->name, v + 1);
	}
	if ((size_t)version < ARRAY_SIZE(schema)) {
		struct store_param p[] = { SP_I((int64_t)ARRAY_SIZE(schema)) };

		rc = store_query(s, "DELETE FROM schema_version", NULL, 0, NULL, NULL, err);
		if (!rc)
			rc = store_query(s, "INSERT INTO schema_version (version) VALUES ($1)", p,
			                 1, NULL, NULL, err);
		if (rc)
			goto err;
	}
	return store_commit(s, err);
err:
	store_rollback(s);
	return rc;
}

int store_open(struct store *s, const char *url, char *err)
{
	int rc = open_driver(s, url, err);

	if (rc)
		return rc;
	rc = migrate(s, err);
	if (rc) {
		err_prefix(err, "schema migration");
		store_close(s);
	}
	return rc;
}

int store_open_again(struct store *s, const struct store *like, char *err)
{
	return open_driver(s, like->url, err);
}

void store_close(struct store *s)
{
	if (s->ops && s->impl)
		s->ops->close(s);
	s->impl = NULL;
}

int store_begin(struct store *s, char *err)
{
	return s->ops->begin(s, err);
}

int store_commit(struct store *s, char *err)
{
	return s->ops->commit(s, err);
}

void store_rollback(struct store *s)
{
	s->ops->rollback(s);
}

static bool int_row(void *arg, int ncols, const char *const *cols)
{
	int64_t *out = arg;

	if (ncols < 1 || !store_col_int(cols[0], out))
		*out = 0;
	return false;
}

int store_query_int(struct store *s, const char *sql, const struct store_param *params, int nparams,
                    int64_t *out, char *err)
{
	*out = 0;
	return store_query(s, sql, params, nparams, int_row, out, err);
}

bool store_col_int(const char *col, int64_t *out)
{
	char *end;
	long long v;

	if (!col || !*col)
		return false;
	errno = 0;
	v = strtoll(col, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}
