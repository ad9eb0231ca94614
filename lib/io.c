#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "err.h"
#include "io.h"

#define RAW_SIZE (1 << 17)
#define LINE_MAX_BYTES (64u << 20)

struct in {
	char *name;
	int fd;
	size_t size, consumed; /* a regular file's size (0: a pipe), and the raw bytes read of it */
	int eof;              /* the file has no more raw bytes */
	ZSTD_DCtx *zstd;      /* NULL: raw input */
	size_t frame_left;    /* last ZSTD_decompressStream result: 0 = between frames */
	unsigned char *raw;   /* bytes read from fd */
	size_t raw_pos, raw_end;
	unsigned char *data;  /* bytes for the caller: raw itself, or decompressed */
	size_t pos, end;
	char *line;
	size_t line_cap;
};

static int read_raw(struct in *in)
{
	ssize_t r;
	do
		r = read(in->fd, in->raw, RAW_SIZE);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return err_set(E_IO, "%s: %s", in->name, strerror(errno));
	in->raw_pos = 0;
	in->raw_end = (size_t)r;
	in->consumed += (size_t)r;
	if (r == 0)
		in->eof = 1;
	return 0;
}

/* Makes data[pos..end) non-empty; returns 0, or 1 at the end of input, or a negative code. */
static int fill(struct in *in)
{
	int rc;
	if (!in->zstd) {
		if (in->eof)
			return 1;
		if ((rc = read_raw(in)) < 0)
			return rc;
		in->pos = 0;
		in->end = in->raw_end;
		return in->eof ? 1 : 0;
	}
	for (;;) {
		if (in->raw_pos == in->raw_end && !in->eof && (rc = read_raw(in)) < 0)
			return rc;
		if (in->raw_pos == in->raw_end && in->eof) {
			if (in->frame_left)
				return err_set(E_TRUNC, "%s: truncated (the zstd frame is cut short)", in->name);
			return 1;
		}
		ZSTD_inBuffer src = { in->raw, in->raw_end, in->raw_pos };
		ZSTD_outBuffer dst = { in->data, ZSTD_DStreamOutSize(), 0 };
		size_t r = ZSTD_decompressStream(in->zstd, &dst, &src);
		in->raw_pos = src.pos;
		if (ZSTD_isError(r))
			return err_set(E_FORMAT, "%s: corrupt zstd data: %s", in->name, ZSTD_getErrorName(r));
		in->frame_left = r;
		if (dst.pos) {
			in->pos = 0;
			in->end = dst.pos;
			return 0;
		}
	}
}

struct in *in_open(const char *path)
{
	struct in *in = calloc(1, sizeof *in);
	int stdin_ = !path || !strcmp(path, "-");
	if (!in)
		goto nomem;
	in->fd = -1;
	in->name = strdup(stdin_ ? "stdin" : path);
	in->raw = malloc(RAW_SIZE);
	if (!in->name || !in->raw)
		goto nomem;
	in->fd = stdin_ ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	if (in->fd < 0) {
		err_set(E_IO, "%s: %s", path, strerror(errno));
		in_close(in);
		return NULL;
	}
	struct stat st;
	if (fstat(in->fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		err_set(E_IO, "%s: is a directory", in->name);
		in_close(in);
		return NULL;
	}
	if (fstat(in->fd, &st) == 0 && S_ISREG(st.st_mode))
		in->size = (size_t)st.st_size;
	/* Gather the first bytes: enough to tell a zstd frame (or a skippable one) from raw bytes,
	 * and for in_peek() to see a format's magic. */
	while (in->raw_end < 64 && !in->eof) {
		ssize_t r = read(in->fd, in->raw + in->raw_end, RAW_SIZE - in->raw_end);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err_set(E_IO, "%s: %s", in->name, strerror(errno));
			in_close(in);
			return NULL;
		}
		if (r == 0)
			in->eof = 1;
		in->raw_end += (size_t)r;
		in->consumed += (size_t)r;
	}
	uint32_t magic = 0;
	if (in->raw_end >= 4)
		magic = (uint32_t)in->raw[0] | (uint32_t)in->raw[1] << 8 | (uint32_t)in->raw[2] << 16 |
			(uint32_t)in->raw[3] << 24;
	if (magic == ZSTD_MAGICNUMBER || (magic & ZSTD_MAGIC_SKIPPABLE_MASK) == ZSTD_MAGIC_SKIPPABLE_START) {
		in->zstd = ZSTD_createDCtx();
		in->data = malloc(ZSTD_DStreamOutSize());
		if (!in->zstd || !in->data)
			goto nomem;
		in->frame_left = 1; /* a frame has begun */
	} else {
		in->data = in->raw;
		in->end = in->raw_end;
	}
	return in;
nomem:
	err_set(E_NOMEM, "out of memory");
	in_close(in);
	return NULL;
}

const char *in_name(const struct in *in)
{
	return in->name;
}

double in_fraction(const struct in *in)
{
	return in->size ? (double)in->consumed / (double)in->size : 0;
}

int in_read(struct in *in, void *buf, size_t n, size_t *got)
{
	unsigned char *p = buf;
	*got = 0;
	while (*got < n) {
		if (in->pos == in->end) {
			int rc = fill(in);
			if (rc < 0)
				return rc;
			if (rc)
				return 0;
		}
		size_t k = in->end - in->pos;
		if (k > n - *got)
			k = n - *got;
		memcpy(p + *got, in->data + in->pos, k);
		in->pos += k;
		*got += k;
	}
	return 0;
}

long in_peek(struct in *in, void *buf, size_t n)
{
	/* Only the start of an input is ever peeked, where the window holds at least 4 bytes. */
	if (in->pos == in->end) {
		int rc = fill(in);
		if (rc < 0)
			return rc;
		if (rc)
			return 0;
	}
	size_t k = in->end - in->pos < n ? in->end - in->pos : n;
	memcpy(buf, in->data + in->pos, k);
	return (long)k;
}

static int line_reserve(struct in *in, size_t need)
{
	if (need <= in->line_cap)
		return 0;
	if (need > LINE_MAX_BYTES)
		return err_set(E_FORMAT, "%s: line longer than %u bytes", in->name, LINE_MAX_BYTES);
	size_t cap = in->line_cap ? in->line_cap : 4096;
	while (cap < need)
		cap *= 2;
	char *p = realloc(in->line, cap);
	if (!p)
		return err_set(E_NOMEM, "out of memory");
	in->line = p;
	in->line_cap = cap;
	return 0;
}

int in_line(struct in *in, char **line, size_t *len)
{
	size_t n = 0;
	int rc;
	int ended = 1;
	for (;;) {
		if (in->pos == in->end) {
			rc = fill(in);
			if (rc < 0)
				return rc;
			if (rc) {
				if (!n)
					return 0;
				ended = 0; /* a last line without '\n' */
				break;
			}
		}
		unsigned char *start = in->data + in->pos;
		unsigned char *nl = memchr(start, '\n', in->end - in->pos);
		size_t k = nl ? (size_t)(nl - start) : in->end - in->pos;
		if ((rc = line_reserve(in, n + k + 1)) < 0)
			return rc;
		memcpy(in->line + n, start, k);
		n += k;
		in->pos += k + (nl != NULL);
		if (nl)
			break;
	}
	in->line[n] = 0;
	*line = in->line;
	*len = n;
	return ended ? 1 : 2;
}

void in_close(struct in *in)
{
	if (!in)
		return;
	if (in->fd > 0)
		close(in->fd);
	if (in->zstd) {
		ZSTD_freeDCtx(in->zstd);
		free(in->data);
	}
	free(in->raw);
	free(in->line);
	free(in->name);
	free(in);
}

/* Output */

#define OUT_BUF (1 << 17)
#define MAX_TEMPS 64

struct out {
	char *name;     /* the target as given, or "stdout" */
	char *temp;     /* temporary path beside the target; NULL for stdout */
	int fd;
	ZSTD_CCtx *zstd;
	unsigned char *buf, *zbuf;
	size_t len;     /* bytes waiting in buf */
	size_t zcap;
	int failed;
};

/* Temporary paths not yet committed, for out_remove_temps() in a signal handler. */
static char *volatile temps[MAX_TEMPS];

int temp_track(const char *path)
{
	for (int i = 0; i < MAX_TEMPS; i++)
		if (!temps[i]) {
			char *copy = strdup(path);
			if (!copy)
				return err_set(E_NOMEM, "out of memory");
			temps[i] = copy;
			return 0;
		}
	return err_set(E_ARG, "more than %d temporary files at once", MAX_TEMPS);
}

void temp_forget(const char *path)
{
	for (int i = 0; i < MAX_TEMPS; i++)
		if (temps[i] && !strcmp(temps[i], path)) {
			char *p = temps[i];
			temps[i] = NULL;
			free(p);
		}
}

void out_remove_temps(void)
{
	for (int i = 0; i < MAX_TEMPS; i++) /* files first, then the folders they were in */
		if (temps[i])
			unlink(temps[i]);
	for (int i = MAX_TEMPS - 1; i >= 0; i--)
		if (temps[i])
			rmdir(temps[i]);
}

static int write_all(struct out *out, const void *buf, size_t n)
{
	const unsigned char *p = buf;
	while (n) {
		ssize_t w = write(out->fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			out->failed = 1;
			return err_set(E_IO, "%s: %s", out->name, strerror(errno));
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Compresses or writes the buffered bytes; end = 1 also ends the zstd frame. */
static int drain(struct out *out, int end)
{
	if (!out->zstd) {
		int rc = write_all(out, out->buf, out->len);
		out->len = 0;
		return rc;
	}
	ZSTD_inBuffer src = { out->buf, out->len, 0 };
	size_t left;
	do {
		ZSTD_outBuffer dst = { out->zbuf, out->zcap, 0 };
		left = ZSTD_compressStream2(out->zstd, &dst, &src, end ? ZSTD_e_end : ZSTD_e_continue);
		if (ZSTD_isError(left)) {
			out->failed = 1;
			return err_set(E_IO, "%s: zstd: %s", out->name, ZSTD_getErrorName(left));
		}
		int rc = write_all(out, out->zbuf, dst.pos);
		if (rc < 0)
			return rc;
	} while (src.pos < src.size || (end && left));
	out->len = 0;
	return 0;
}

struct out *out_open(const char *path, int zstd_level, int flags)
{
	struct out *out = calloc(1, sizeof *out);
	int stdout_ = !path || !strcmp(path, "-");
	if (!out)
		goto nomem;
	out->fd = -1;
	out->name = strdup(stdout_ ? "stdout" : path);
	out->buf = malloc(OUT_BUF);
	if (!out->name || !out->buf)
		goto nomem;
	if (zstd_level > 0) {
		out->zstd = ZSTD_createCCtx();
		out->zcap = ZSTD_CStreamOutSize();
		out->zbuf = malloc(out->zcap);
		if (!out->zstd || !out->zbuf)
			goto nomem;
		ZSTD_CCtx_setParameter(out->zstd, ZSTD_c_compressionLevel, zstd_level);
		ZSTD_CCtx_setParameter(out->zstd, ZSTD_c_checksumFlag, 1);
	}
	if (stdout_) {
		if ((flags & OUT_BINARY) && isatty(1)) {
			err_set(E_ARG, "refusing to write binary data to a terminal (redirect stdout or use -o)");
			goto fail;
		}
		out->fd = 1;
		return out;
	}
	size_t n = strlen(path);
	if (n && path[n - 1] == '/') {
		err_set(E_ARG, "%s: a folder: name the file to write", path);
		goto fail;
	}
	out->temp = malloc(n + 16);
	if (!out->temp)
		goto nomem;
	snprintf(out->temp, n + 16, "%s.tmp.XXXXXX", path);
	out->fd = mkostemp(out->temp, O_CLOEXEC);
	if (out->fd < 0) {
		const char *slash = strrchr(path, '/');
		if (errno == ENOENT && slash)
			err_set(E_IO, "%s: its folder %.*s does not exist", path, (int)(slash - path), path);
		else
			err_set(E_IO, "%s: cannot create a file beside it: %s", path, strerror(errno));
		free(out->temp);
		out->temp = NULL;
		goto fail;
	}
	mode_t mask = umask(0); /* mkstemp makes 0600; outputs get the usual 0666 & ~umask */
	umask(mask);
	fchmod(out->fd, 0666 & ~mask);
	if (temp_track(out->temp) < 0) {
		unlink(out->temp);
		goto fail;
	}
	return out;
nomem:
	err_set(E_NOMEM, "out of memory");
fail:
	out_abort(out);
	return NULL;
}

const char *out_name(const struct out *out)
{
	return out->name;
}

int out_write(struct out *out, const void *buf, size_t n)
{
	const unsigned char *p = buf;
	if (out->failed)
		return E_IO;
	while (n) {
		size_t k = OUT_BUF - out->len < n ? OUT_BUF - out->len : n;
		memcpy(out->buf + out->len, p, k);
		out->len += k;
		p += k;
		n -= k;
		if (out->len == OUT_BUF) {
			int rc = drain(out, 0);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

int out_printf(struct out *out, const char *fmt, ...)
{
	char small[1024], *p = small;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return err_set(E_ARG, "%s: cannot format output", out->name);
	if ((size_t)n >= sizeof small) {
		if (!(p = malloc((size_t)n + 1)))
			return err_set(E_NOMEM, "out of memory");
		va_start(ap, fmt);
		vsnprintf(p, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	int rc = out_write(out, p, (size_t)n);
	if (p != small)
		free(p);
	return rc;
}

static void out_free(struct out *out)
{
	if (out->zstd)
		ZSTD_freeCCtx(out->zstd);
	free(out->zbuf);
	free(out->buf);
	free(out->name);
	free(out->temp);
	free(out);
}

int out_yaml_string(struct out *o, const char *s)
{
	int rc = out_write(o, "\"", 1);
	for (; *s && rc == 0; s++)
		rc = *s == '"' || *s == '\\' ? out_printf(o, "\\%c", *s) :
		     (unsigned char)*s < 0x20 ? out_printf(o, "\\x%02x", (unsigned char)*s) : out_write(o, s, 1);
	return rc ? rc : out_write(o, "\"", 1);
}

int out_commit(struct out *out)
{
	int rc = out->failed ? E_IO : drain(out, 1);
	if (rc == 0 && out->temp) {
		if (fsync(out->fd) < 0 && errno != EINVAL)
			rc = err_set(E_IO, "%s: %s", out->name, strerror(errno));
		if (close(out->fd) < 0 && rc == 0)
			rc = err_set(E_IO, "%s: %s", out->name, strerror(errno));
		out->fd = -1;
		if (rc == 0 && rename(out->temp, out->name) < 0)
			rc = err_set(E_IO, "%s: %s", out->name, strerror(errno));
	}
	if (rc < 0) {
		out_abort(out);
		return rc;
	}
	if (out->temp)
		temp_forget(out->temp);
	out_free(out);
	return 0;
}

void out_abort(struct out *out)
{
	if (!out)
		return;
	if (out->temp) {
		if (out->fd >= 0)
			close(out->fd);
		unlink(out->temp);
		temp_forget(out->temp);
	}
	out_free(out);
}

int write_file_atomic(const char *path, const void *buf, size_t n)
{
	struct out *out = out_open(path, 0, 0);
	if (!out)
		return E_IO;
	int rc = out_write(out, buf, n);
	if (rc < 0) {
		out_abort(out);
		return rc;
	}
	return out_commit(out);
}

char *read_file(const char *path, size_t *n)
{
	struct in *in = in_open(path);
	size_t cap = 1 << 16, len = 0, got;
	char *buf = NULL;
	if (!in)
		return NULL;
	for (;;) {
		char *p = realloc(buf, cap + 1);
		if (!p) {
			err_set(E_NOMEM, "out of memory");
			goto fail;
		}
		buf = p;
		if (in_read(in, buf + len, cap - len, &got) < 0)
			goto fail;
		len += got;
		if (len < cap)
			break;
		cap *= 2;
	}
	buf[len] = 0;
	*n = len;
	in_close(in);
	return buf;
fail:
	free(buf);
	in_close(in);
	return NULL;
}

/* Mapped files */

int map_file(const char *path, struct mapped *m)
{
	struct stat sb;
	memset(m, 0, sizeof *m);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(E_IO, "%s: %s", path, strerror(errno));
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return err_set(E_IO, "%s: not a regular file", path);
	}
	m->size = (size_t)sb.st_size;
	if (m->size == 0) {
		close(fd);
		return 0;
	}
	void *p = mmap(NULL, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return err_set(E_IO, "%s: mmap: %s", path, strerror(errno));
	m->p = p;
	return 0;
}

void map_release(const struct mapped *m, size_t begin, size_t end)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uintptr_t lo = (uintptr_t)(m->p + begin) / page * page, hi = (uintptr_t)(m->p + end);
	if (m->p && end > begin && hi > lo)
		madvise((void *)lo, hi - lo, MADV_DONTNEED); /* advice: its failure changes nothing */
}

void unmap_file(struct mapped *m)
{
	if (m->p)
		munmap((void *)m->p, m->size);
	memset(m, 0, sizeof *m);
}

/* Folders written whole */

#define FOLDER_LOCK ".writer"

static int remove_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb, (void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

/* Was the temporary folder tmp left by a writer that is gone? Its writer holds the lock of the
 * lock file while it lives (the kernel lets go of it when the process dies, however it dies) and
 * writes its pid and host there once it holds it: a lock file that names this host and that no
 * one holds is a dead writer's. A folder without one, or with an empty one, may be a writer's
 * that is starting; one of another host (a shared file system, whose locks may not reach across
 * hosts) is left to that host's runs. */
static int writer_gone(const char *tmp)
{
	char *lock = path_join(tmp, FOLDER_LOCK), text[320] = "", host[256] = "", theirs[256] = "";
	int fd = lock ? open(lock, O_RDWR | O_NOFOLLOW | O_CLOEXEC) : -1, gone = 0;
	if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0) {
		ssize_t n = read(fd, text, sizeof text - 1);
		text[n > 0 ? n : 0] = 0;
		gethostname(host, sizeof host - 1);
		long pid;
		gone = sscanf(text, "%ld %255s", &pid, theirs) == 2 && pid > 0 && !strcmp(theirs, host);
	}
	if (fd >= 0)
		close(fd);
	free(lock);
	return gone;
}

/* Removes path's temporary folders (path.tmp.XXXXXX) whose writers are gone. */
static void remove_stale(const char *path)
{
	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
	char *dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
	DIR *d = dir && *base ? opendir(dir) : NULL;
	size_t n = strlen(base);
	for (struct dirent *e; d && (e = readdir(d));) {
		if (strncmp(e->d_name, base, n) || strncmp(e->d_name + n, ".tmp.", 5) || strlen(e->d_name + n + 5) != 6)
			continue;
		char *tmp = path_join(dir, e->d_name);
		struct stat sb;
		if (tmp && lstat(tmp, &sb) == 0 && S_ISDIR(sb.st_mode) && writer_gone(tmp))
			nftw(tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
		free(tmp);
	}
	if (d)
		closedir(d);
	free(dir);
}

/* The lock file of f's temporary folder, locked for as long as this process lives, then its pid
 * and host written in it (see writer_gone). */
static int take_lock(struct folder_out *f)
{
	char *path = folder_file(f, FOLDER_LOCK), host[256] = "";
	if (!path)
		return err_code();
	gethostname(host, sizeof host - 1);
	char *text = NULL;
	int n = asprintf(&text, "%ld %s\n", (long)getpid(), host), rc = 0;
	f->lock = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	while (f->lock >= 0 && (rc = flock(f->lock, LOCK_EX)) < 0 && errno == EINTR)
		;
	if (n < 0 || f->lock < 0 || rc < 0 || write(f->lock, text, (size_t)n) != n)
		rc = err_set(E_IO, "%s: %s", path, n < 0 ? "out of memory" : strerror(errno));
	free(text);
	return rc;
}

int folder_begin(struct folder_out *f, const char *path, int replace)
{
	struct stat sb;
	memset(f, 0, sizeof *f);
	f->lock = -1;
	if (!replace && stat(path, &sb) == 0)
		return err_set(E_ARG, "%s: exists (use --force to replace it)", path);
	remove_stale(path);
	size_t n = strlen(path) + 16;
	if (!(f->path = strdup(path)) || !(f->tmp = malloc(n))) {
		free(f->path);
		return err_set(E_NOMEM, "out of memory");
	}
	snprintf(f->tmp, n, "%s.tmp.XXXXXX", path);
	if (!mkdtemp(f->tmp)) {
		int rc = err_set(E_IO, "%s: cannot create a folder beside it: %s", path, strerror(errno));
		free(f->path);
		free(f->tmp);
		return rc;
	}
	mode_t mask = umask(0); /* mkdtemp makes 0700; the folder is an ordinary one */
	umask(mask);
	chmod(f->tmp, 0777 & ~mask);
	int rc = temp_track(f->tmp);
	if (rc == 0 && (rc = take_lock(f)) < 0)
		folder_abort(f);
	return rc;
}

char *path_join(const char *dir, const char *file)
{
	size_t n = strlen(dir) + strlen(file) + 2;
	char *p = malloc(n);
	if (!p)
		err_set(E_NOMEM, "out of memory");
	else
		snprintf(p, n, "%s/%s", dir, file);
	return p;
}

char *folder_file(struct folder_out *f, const char *name)
{
	if (f->nfiles == FOLDER_FILES_MAX) {
		err_set(E_ARG, "%s: more than %d files", f->path, FOLDER_FILES_MAX);
		return NULL;
	}
	char *p = path_join(f->tmp, name);
	if (!p || temp_track(p) < 0) {
		free(p);
		return NULL;
	}
	f->files[f->nfiles++] = p;
	return p;
}

static void folder_free(struct folder_out *f)
{
	if (f->lock >= 0)
		close(f->lock);
	for (int i = 0; i < f->nfiles; i++) {
		temp_forget(f->files[i]);
		free(f->files[i]);
	}
	temp_forget(f->tmp);
	free(f->tmp);
	free(f->path);
	memset(f, 0, sizeof *f);
}

int folder_commit(struct folder_out *f)
{
	struct stat sb;
	char old[4096] = "";
	int rc = 0;
	char *lock = path_join(f->tmp, FOLDER_LOCK); /* the folder is complete: no lock file in it */
	if (!lock || unlink(lock) < 0)
		rc = err_set(E_IO, "%s: %s", lock ? lock : f->tmp, lock ? strerror(errno) : "out of memory");
	free(lock);
	if (rc == 0 && stat(f->path, &sb) == 0) { /* replacing: the old folder is moved aside, then removed */
		snprintf(old, sizeof old, "%s.old", f->tmp);
		if (rename(f->path, old) < 0)
			rc = err_set(E_IO, "%s: cannot replace it: %s", f->path, strerror(errno));
	}
	if (rc == 0 && rename(f->tmp, f->path) < 0)
		rc = err_set(E_IO, "%s: %s", f->path, strerror(errno));
	if (rc < 0) {
		folder_abort(f);
		return rc;
	}
	if (*old && nftw(old, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		rc = 1 + 0 * err_set(E_IO, "%s: could not remove the replaced folder: %s", old, strerror(errno));
	folder_free(f);
	return rc;
}

void folder_abort(struct folder_out *f)
{
	if (f->tmp)
		nftw(f->tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	folder_free(f);
}
