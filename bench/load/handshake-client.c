/*
 * vaultgate bench: new TLS connections per second with SNI spread over many hostnames.
 *
 * Usage: handshake-client PORT HOSTNAMES_FILE CA_FILE CONNECTIONS SECONDS [MAX]
 *
 * CONNECTIONS threads each loop: TCP connect to 127.0.0.1:PORT, a full TLS handshake (no session is
 * ever offered) with SNI = the next name of HOSTNAMES_FILE (one per line, taken in turn over all
 * threads), the server certificate verified against CA_FILE and for that name (OpenSSL's
 * SSL_set1_host: a certificate for another hostname fails the handshake), one GET with Host = the
 * same name and Connection: close, the whole answer read, the connection closed. Prints one JSON
 * line {"requests","errors","duration_us","p50_us","p99_us","first_error"}, requests being the
 * connections answered 2xx; latencies run from the TCP connect to the end of the answer. MAX, when
 * given, stops after that many connections (the names in turn: MAX = their count asks for each once).
 *
 * C rather than Node: a Node TLS client spends more CPU per handshake than the server it measures
 * (about 1.3 ms against 0.8 ms on the bench machine), so it, not the server, would set the rate.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int port;
static char **names;
static size_t name_count;
static SSL_CTX *ctx;
static double deadline;
static atomic_size_t next_name;
static size_t max_connections; /* 0: no limit */
static atomic_long answered, failed;
static pthread_mutex_t error_lock = PTHREAD_MUTEX_INITIALIZER;
static char first_error[256];

typedef struct {
  double *latency_us;
  size_t count, cap;
} samples;

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void fail(const char *what, const char *name) {
  atomic_fetch_add(&failed, 1);
  pthread_mutex_lock(&error_lock);
  if (first_error[0] == 0) {
    unsigned long e = ERR_peek_last_error();
    snprintf(first_error, sizeof first_error, "%s: %s%s%s", name, what, e ? ": " : "",
             e ? ERR_reason_error_string(e) : "");
    // JSON-safe: the reason strings are plain ASCII, but keep quotes and backslashes out.
    for (char *p = first_error; *p; p++)
      if (*p == '"' || *p == '\\' || *p < 32) *p = ' ';
  }
  pthread_mutex_unlock(&error_lock);
  ERR_clear_error();
}

/* The status of the answer, or -1; reads until the body given by Content-Length is complete or EOF. */
static int read_answer(SSL *ssl) {
  char buf[16384];
  size_t have = 0;
  long body_left = -1;
  int status = -1;
  for (;;) {
    int n = SSL_read(ssl, buf + have, (int)(sizeof buf - 1 - have));
    if (n <= 0) return body_left <= 0 ? status : -1;
    if (body_left >= 0) {
      body_left -= n;
      if (body_left <= 0) return status;
      continue;
    }
    have += (size_t)n;
    buf[have] = 0;
    char *end = strstr(buf, "\r\n\r\n");
    if (end == NULL) {
      if (have >= sizeof buf - 1) return -1;
      continue;
    }
    if (strncmp(buf, "HTTP/1.", 7) != 0) return -1;
    status = atoi(buf + 9);
    char *cl = strcasestr(buf, "\r\ncontent-length:");
    if (cl == NULL || cl > end) return status; /* no length: read to EOF */
    body_left = atol(cl + 17) - (long)(have - (size_t)(end + 4 - buf));
    if (body_left <= 0) return status;
  }
}

/* One connection; false once MAX connections have been started. */
static int one(samples *s) {
  size_t k = atomic_fetch_add(&next_name, 1);
  if (max_connections > 0 && k >= max_connections) return 0;
  const char *name = names[k % name_count];
  double t0 = now_us();
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one_ = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one_, sizeof one_);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    fail("connect failed", name);
    close(fd);
    usleep(10000);
    return 1;
  }
  SSL *ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  SSL_set_tlsext_host_name(ssl, name);
  SSL_set1_host(ssl, name);
  if (SSL_connect(ssl) != 1) {
    fail("handshake failed", name);
  } else if (SSL_session_reused(ssl)) {
    fail("session resumed (not a full handshake)", name);
  } else {
    char req[512];
    int len = snprintf(req, sizeof req,
                       "GET / HTTP/1.1\r\nHost: %s\r\nAccept: application/json\r\nConnection: close\r\n\r\n",
                       name);
    int status = SSL_write(ssl, req, len) == len ? read_answer(ssl) : -1;
    if (status >= 200 && status < 300) {
      atomic_fetch_add(&answered, 1);
      if (s->count == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4096;
        s->latency_us = realloc(s->latency_us, s->cap * sizeof(double));
      }
      s->latency_us[s->count++] = now_us() - t0;
    } else {
      char what[64];
      if (status < 0) snprintf(what, sizeof what, "no complete answer");
      else snprintf(what, sizeof what, "status %d", status);
      fail(what, name);
    }
  }
  SSL_free(ssl);
  close(fd);
  return 1;
}

static void *loop(void *arg) {
  samples *s = arg;
  while (now_us() < deadline && one(s)) {
  }
  return NULL;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc != 6 && argc != 7) {
    fprintf(stderr, "usage: %s PORT HOSTNAMES_FILE CA_FILE CONNECTIONS SECONDS [MAX]\n", argv[0]);
    return 2;
  }
  port = atoi(argv[1]);
  FILE *f = fopen(argv[2], "r");
  if (f == NULL) return perror(argv[2]), 2;
  char line[300];
  size_t cap = 0;
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\r\n")] = 0;
    if (line[0] == 0) continue;
    if (name_count == cap) names = realloc(names, (cap = cap ? cap * 2 : 1024) * sizeof(char *));
    names[name_count++] = strdup(line);
  }
  fclose(f);
  if (name_count == 0) return fprintf(stderr, "no hostnames in %s\n", argv[2]), 2;
  int threads = atoi(argv[4]);
  if (argc == 7) max_connections = (size_t)atol(argv[6]);
  ctx = SSL_CTX_new(TLS_client_method());
  if (SSL_CTX_load_verify_locations(ctx, argv[3], NULL) != 1) return fprintf(stderr, "bad CA file\n"), 2;
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
  /* Never keep a session: every connection is a full handshake. */
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);

  double t0 = now_us();
  deadline = t0 + atof(argv[5]) * 1e6;
  pthread_t *tids = calloc((size_t)threads, sizeof(pthread_t));
  samples *per = calloc((size_t)threads, sizeof(samples));
  for (int i = 0; i < threads; i++) pthread_create(&tids[i], NULL, loop, &per[i]);
  size_t total = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(tids[i], NULL);
    total += per[i].count;
  }
  double duration = now_us() - t0;
  double *all = malloc((total + 1) * sizeof(double));
  size_t k = 0;
  for (int i = 0; i < threads; i++)
    for (size_t j = 0; j < per[i].count; j++) all[k++] = per[i].latency_us[j];
  qsort(all, total, sizeof(double), cmp);
  double p50 = total ? all[(size_t)(0.50 * (double)total)] : 0;
  double p99 = total ? all[(size_t)(0.99 * (double)total) < total ? (size_t)(0.99 * (double)total) : total - 1] : 0;
  printf("{\"requests\":%ld,\"errors\":%ld,\"duration_us\":%.0f,\"p50_us\":%.0f,\"p99_us\":%.0f,\"first_error\":\"%s\"}\n",
         atomic_load(&answered), atomic_load(&failed), duration, p50, p99, first_error);
  return 0;
}
