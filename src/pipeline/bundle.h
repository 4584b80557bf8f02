/* SPDX-License-Identifier: MIT */
/*
 * hmq program: High Mobility's download bundle (--bundle DIR).
 *
 * The unzipped download holds ca_crt.pem, client_crt.pem, client_key.pem and
 * snippet.txt, a shell command line running mosquitto_sub. We read that
 * command with a small shell-word splitter and feed it to the ordinary
 * option parser, so the snippet means to hmq exactly what it means to
 * mosquitto_sub.
 */
#ifndef HMQ_APP_BUNDLE_H
#define HMQ_APP_BUNDLE_H

#include <stddef.h>

#include "pipeline/options.h"

#define HMQ_SHELL_OK       0
#define HMQ_SHELL_UNCLOSED (-1) /* a quote is not closed */
#define HMQ_SHELL_NO_ROOM  (-2) /* buf or words too small */

/*
 * Split the first shell command in s[0..len) into words, the way a POSIX
 * shell does for a simple command without expansions: blanks separate words;
 * '...' is literal; "..." is literal except \" \\ \$ \` and
 * backslash-newline; outside quotes a backslash quotes the next character
 * and backslash-newline (also backslash-CR-LF) joins lines; a '#' starting
 * a word comments out the rest of the line. An unquoted newline, ';', '&'
 * or '|' ends the command. $ and ` are kept literally (nothing is
 * expanded). Words are written NUL-terminated into buf (cap bytes) and
 * words[i] points to them; *nwords gets the count and *consumed (may be
 * NULL) the number of input bytes used. Returns HMQ_SHELL_OK,
 * HMQ_SHELL_UNCLOSED or HMQ_SHELL_NO_ROOM.
 */
int hmq_shell_split(const char *s, size_t len, char *buf, size_t cap, char **words,
                    size_t max_words, size_t *nwords, size_t *consumed);

/*
 * Merge the bundle directory o->bundle into o: the mosquitto_sub command in
 * snippet.txt supplies host, port, client id, topic, QoS, session options
 * and certificate names (relative names are taken relative to the bundle);
 * anything given explicitly on the command line (o->set) wins. Without a
 * snippet the certificate files default to ca_crt.pem, client_crt.pem and
 * client_key.pem in the bundle. Does nothing when o->bundle is empty.
 * Returns HMQ_EXIT_OK, or HMQ_EXIT_CONFIG with err naming the file and the
 * problem (unreadable directory, option in the snippet hmq does not know,
 * unclosed quote).
 */
int hmq_bundle_apply(hmq_opts *o, char *err, size_t errlen);

#endif
