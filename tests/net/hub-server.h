/* hub-server.h — an imitation of the Hugging Face hub endpoints the engine
 * uses, on 127.0.0.1 in the test process (two SoupServers on one thread:
 * the hub and a "CDN" on another port, i.e. another origin). */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum {
  BODY_NORMAL,
  BODY_DROP_ONCE,     /* the first CDN response breaks off after half the bytes */
  BODY_CORRUPT,       /* one byte flipped, every time */
  BODY_SLOW,          /* 4 KiB every 20 ms */
  BODY_ERROR_ONCE,    /* the first CDN request gets 503 */
} body_mode;

typedef struct hub_server hub_server;

hub_server *hub_server_new (void);
void hub_server_free (hub_server *server);
const char *hub_server_endpoint (hub_server *server);

/* gated: listing and downloads need "Authorization: Bearer <token>". */
void hub_server_add_repo (hub_server *server, const char *repo, const char *token);
/* lfs: listed with a SHA-256 and served through a redirect to the CDN;
 * otherwise listed with its git blob id and served by the hub directly. */
void hub_server_add_file (hub_server *server, const char *repo, const char *path,
                          GBytes *content, bool lfs, body_mode mode);
void hub_server_set_mode (hub_server *server, const char *repo, const char *path, body_mode mode);
/* Lists path with this size (a real repository's) while serving its content;
 * a download of it then fails verification, so only plans may use it. */
void hub_server_declare_size (hub_server *server, const char *repo, const char *path, uint64_t size);
/* Replaces the generated listing of repo with raw JSON. */
void hub_server_set_raw_listing (hub_server *server, const char *repo, const char *json);
/* Entries per listing page (pagination with Link headers); default 2. */
void hub_server_set_page_size (hub_server *server, unsigned n);

/* Counters, read under the server's lock. */
unsigned hub_server_cdn_requests (hub_server *server);
unsigned hub_server_cdn_requests_with_auth (hub_server *server);
unsigned hub_server_hub_requests_with_auth (hub_server *server);
unsigned hub_server_range_requests (hub_server *server);
unsigned hub_server_listing_pages (hub_server *server);

/* Deterministic pseudo-random content. */
GBytes *make_content (size_t size, unsigned seed);
char *sha256_hex (GBytes *bytes);
char *git_blob_sha1_hex (GBytes *bytes);
