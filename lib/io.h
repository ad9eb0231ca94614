/* io.h: bytes in from files and stdin, bytes out to files and stdout.
 *
 * An input that starts with a zstd frame is decompressed as it is read (concatenated frames are
 * one input, as zstd -dc gives them); a frame cut short is reported as truncation (E_TRUNC).
 * An output to a path is written to a temporary file beside it and renamed into place only by
 * out_commit(), so a failed or killed run never leaves a file that looks complete. "-" (or NULL)
 * is stdin or stdout. */
#ifndef ELSA_IO_H
#define ELSA_IO_H

#include <stddef.h>

struct in;

/* Opens path ("-" or NULL: stdin). NULL on failure, with err_msg() set. */
struct in *in_open(const char *path);
/* The name to use in messages: the path as given, or "stdin". */
const char *in_name(const struct in *in);
/* How much of a regular file has been read, 0 to 1 (0 for pipes): for progress and its ETA. */
double in_fraction(const struct in *in);
/* Reads n bytes; *got < n only when the input ended. 0, or a negative code. */
int in_read(struct in *in, void *buf, size_t n, size_t *got);
/* Copies up to n of the next bytes without consuming them; returns how many there were (<n at
 * the end), or a negative code. */
long in_peek(struct in *in, void *buf, size_t n);
/* The next line, without its '\n', NUL-terminated, valid until the next call; *len is its length
 * (a line holding a NUL byte is longer than strlen says). 1: a line; 2: a last line that had no
 * '\n'; 0: end of input; <0: error. */
int in_line(struct in *in, char **line, size_t *len);
void in_close(struct in *in);

struct out;

enum { OUT_BINARY = 1 }; /* flag: refuse to write to a terminal */

/* Opens path for writing ("-" or NULL: stdout); zstd_level 0 writes raw bytes, 1..19 one zstd
 * frame. NULL on failure, with err_msg() set. */
struct out *out_open(const char *path, int zstd_level, int flags);
const char *out_name(const struct out *out);
int out_write(struct out *out, const void *buf, size_t n);
int out_printf(struct out *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes s as a double-quoted YAML scalar. */
int out_yaml_string(struct out *out, const char *s);
/* Finishes: ends the zstd frame, flushes, and for a path syncs and renames it into place.
 * Frees out in every case; 0 or a negative code. */
int out_commit(struct out *out);
/* Gives up: removes the temporary file (stdout is left as it is). Frees out. */
void out_abort(struct out *out);
/* Removes every temporary path not yet committed (files, then folders); async-signal-safe, for
 * signal handlers and fatal errors. */
void out_remove_temps(void);
/* Adds a path (a file, or a folder to be emptied of tracked files) to those out_remove_temps()
 * removes, until temp_forget(path). out_open tracks its own temporary file. */
int temp_track(const char *path);
void temp_forget(const char *path);

/* Writes a whole small file atomically (temporary beside it, then rename). */
int write_file_atomic(const char *path, const void *buf, size_t n);
/* Reads a whole file into a NUL-terminated malloc'd buffer; *n gets its size. NULL on failure. */
char *read_file(const char *path, size_t *n);

/* "dir/file", malloc'd; NULL (E_NOMEM) when out of memory. */
char *path_join(const char *dir, const char *file);

/* A folder written whole or not at all: built as PATH.tmp.XXXXXX beside PATH, its files removed
 * with it if the program is interrupted (out_remove_temps), renamed into place by folder_commit,
 * which moves an older PATH aside and removes it when replace was asked. While it writes, the
 * writer holds a lock on the folder's lock file (.writer, holding its pid and host once locked),
 * so that a folder a killed writer left (SIGKILL, a crash) is told from one being written. */
#define FOLDER_FILES_MAX 16
struct folder_out {
	char *path, *tmp;
	char *files[FOLDER_FILES_MAX];
	int nfiles;
	int lock; /* the lock file's descriptor, -1 when none */
};
/* Removes the temporary folders of PATH whose writers are gone (their lock file holds a pid and
 * is locked by no one), then creates its own. E_ARG when PATH exists and replace is 0. */
int folder_begin(struct folder_out *f, const char *path, int replace);
/* The path of file name within it (owned by f), tracked for removal. NULL on failure. */
char *folder_file(struct folder_out *f, const char *name);
/* Renames the folder into place and frees f: 0, or 1 when the replaced folder could not be
 * removed (err_msg() says where it is). On failure (<0) the new folder is removed. */
int folder_commit(struct folder_out *f);
/* Removes the temporary folder and everything in it; frees f. */
void folder_abort(struct folder_out *f);

/* A whole file mapped read-only (size 0: an empty file, p NULL). */
struct mapped {
	const unsigned char *p;
	size_t size;
};
/* Maps path. 0, or E_IO naming it (missing, not a regular file, mmap failed). */
int map_file(const char *path, struct mapped *m);
/* Drops the pages of bytes [begin, end) from this process's memory: they stay in the page cache
 * and come back on the next read, so weights once copied or hashed are not counted twice. */
void map_release(const struct mapped *m, size_t begin, size_t end);
void unmap_file(struct mapped *m);

#endif
