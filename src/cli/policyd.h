/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal interface of `domainsec policyd`, shared by its files: the
 * command line, configuration and logging (policyd.c), and the
 * conversations it serves, on stdin/stdout or on a listening socket
 * (policyd_serve.c).
 */
#ifndef DOMAINSEC_CLI_POLICYD_H
#define DOMAINSEC_CLI_POLICYD_H

#include "domainsec/policy.h"

/* The default of --idle-timeout, in seconds. */
#define CLI_POLICYD_IDLE 300L
/* Conversations served at once with --listen; more wait to be accepted. */
#define CLI_POLICYD_MAX_CONNS 128

/* What serves: the decision's inputs, the idle timeout. */
typedef struct {
    dsec_policy pol;
    long idle; /* seconds without a byte before a connection is closed */
} cli_policyd_server;

/*
 * One conversation on stdin/stdout (a Postfix spawn(8) service) until end
 * of file, the idle timeout or a write error. Returns the exit code (0).
 */
int cli_policyd_serve_stdio(const cli_policyd_server *srv);

/*
 * A listening socket for spec, "unix:/path" or "tcp:HOST:PORT" (HOST may be
 * a bracketed IPv6 address): the descriptor, or -1 after logging why;
 * *usage is set when spec itself is malformed.
 */
int cli_policyd_listen(const char *spec, int *usage);

/*
 * Serve the listening socket lfd (many conversations, poll-based, at most
 * CLI_POLICYD_MAX_CONNS at once) until SIGTERM or SIGINT, then close every
 * conversation and lfd, and remove spec's socket file if it is unix:.
 * Returns the exit code (0).
 */
int cli_policyd_serve_listen(const cli_policyd_server *srv, int lfd,
                             const char *spec);

#endif /* DOMAINSEC_CLI_POLICYD_H */
