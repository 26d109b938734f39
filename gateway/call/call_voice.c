/* Requests by voice (see call.h): the voice line's call, its recording and the WAV file. The call
 * is a struct call of the group call's fsm in the states CALL_ST_VOICE (the prompt, then the
 * recording) and CALL_ST_VOICE_THANKS (the request filed, "voice_thanks" plays); the request is
 * filed through the hook call_set_voice_report (gateway/wire.c: gateway/request). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <talloc.h>

#include <osmocom/core/fsm.h>
#include <osmocom/core/logging.h>
#include <osmocom/core/utils.h>

#include "gateway/call/call.h"
#include "gateway/call/call_priv.h"
#include "gateway/call/media.h"
#include "gateway/call/media_g711.h"
#include "gateway/core/gw.h"

#define VOICE_RATE	  8000
#define VOICE_MIN_SPEECH  VOICE_RATE /* under 1 s of speech is no request */
#define VOICE_SPEECH_MEAN 100	     /* a packet whose mean |sample| is above this (-50 dBFS) is speech */
#define VOICE_THANKS_S	  20	     /* hang up if "voice_thanks" has not ended by then */

struct call_voice {
	uint8_t *ulaw; /* the recording, G.711 mu-law */
	size_t len, cap;
	size_t speech; /* samples of packets loud enough to be speech */
	bool recording;
	bool filed; /* the recording has been dealt with (filed, or too short) */
};

static call_voice_report_fn on_voice_report;

void call_set_voice_report(call_voice_report_fn fn)
{
	on_voice_report = fn;
}

const char *call_recordings_dir(void)
{
	return g_call_cfg.recordings_dir ? g_call_cfg.recordings_dir : "var/recordings";
}

/* The caller's audio (media_leg_on_audio): kept as mu-law up to the buffer's end. */
static void voice_audio(struct media_leg *m, const int16_t *s, size_t n, void *data)
{
	struct call_voice *v = data;
	uint64_t sum = 0;
	size_t take;

	(void)m;
	if (!v->recording)
		return;
	for (size_t i = 0; i < n; i++)
		sum += s[i] < 0 ? -(int32_t)s[i] : s[i];
	if (n && sum / n > VOICE_SPEECH_MEAN)
		v->speech += n;
	take = n < v->cap - v->len ? n : v->cap - v->len;
	media_g711_encode(MEDIA_PT_PCMU, s, v->ulaw + v->len, take);
	v->len += take;
}

/* mkdir -p of path (relative or absolute). 0 or -errno. */
static int mkdirs(const char *path)
{
	char buf[512];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0750) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0750) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= w;
	}
	return 0;
}

/* The WAV file of n mu-law samples at path: RIFF/WAVE, a fmt chunk of WAVE_FORMAT_MULAW (7, 18
 * bytes with cbSize 0), the fact chunk (the number of samples, as the format wants for anything
 * but PCM), the data chunk (padded to an even length). Written beside path and renamed, so a
 * crash never leaves half a file under the name. 0 or -errno. */
static int wav_write(const char *path, const uint8_t *ulaw, size_t n)
{
	uint8_t h[58], pad = 0xff;
	char tmp[600];
	size_t padded = n + (n & 1);
	int fd, rc;

	memcpy(h, "RIFF", 4);
	put_le32(h + 4, 4 + (8 + 18) + (8 + 4) + 8 + padded);
	memcpy(h + 8, "WAVEfmt ", 8);
	put_le32(h + 16, 18);
	put_le16(h + 20, 7);	      /* WAVE_FORMAT_MULAW */
	put_le16(h + 22, 1);	      /* mono */
	put_le32(h + 24, VOICE_RATE); /* samples per second */
	put_le32(h + 28, VOICE_RATE); /* bytes per second */
	put_le16(h + 32, 1);	      /* block align */
	put_le16(h + 34, 8);	      /* bits per sample */
	put_le16(h + 36, 0);	      /* cbSize */
	memcpy(h + 38, "fact", 4);
	put_le32(h + 42, 4);
	put_le32(h + 46, n);
	memcpy(h + 50, "data", 4);
	put_le32(h + 54, n);

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	rc = write_all(fd, h, sizeof(h));
	if (rc == 0)
		rc = write_all(fd, ulaw, n);
	if (rc == 0 && (n & 1))
		rc = write_all(fd, &pad, 1);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
	return rc;
}

/* The recording is over (hang-up, #, the time limit): a WAV file and a request when it holds
 * at least 1 s of speech. true when a request was filed. */
static bool voice_file(struct call *c)
{
	struct call_voice *v = c->voice;
	char path[512], stamp[32], ref[8] = "";
	unsigned seconds;
	struct tm tm;
	time_t now = time(NULL);
	int rc;

	if (v->filed)
		return false;
	v->filed = true;
	v->recording = false;
	media_leg_on_audio(c->media, NULL, NULL);
	if (v->speech < VOICE_MIN_SPEECH) {
		LOGPFSML(c->fi, LOGL_NOTICE, "voice line: %s left %zu ms of speech (%zu ms recorded): no request\n",
			 c->who.number, v->speech / 8, v->len / 8);
		snprintf(c->rec.note, sizeof(c->rec.note), "voice line: under 1 s of speech, no request");
		return false;
	}
	/* the name from what linlid knows (the call's record id, the time), never from the caller */
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	if ((size_t)snprintf(path, sizeof(path), "%s/voice-%" PRId64 "-%s.wav", call_recordings_dir(), c->rec.id,
			     stamp) >= sizeof(path)) {
		LOGPFSML(c->fi, LOGL_ERROR, "voice line: the recordings-dir is too long: the recording is lost\n");
		return false;
	}
	rc = mkdirs(call_recordings_dir());
	if (rc == 0)
		rc = wav_write(path, v->ulaw, v->len);
	if (rc < 0) {
		LOGPFSML(c->fi, LOGL_ERROR, "voice line: cannot write %s: %s: no request\n", path, strerror(-rc));
		snprintf(c->rec.note, sizeof(c->rec.note), "voice line: the recording could not be written");
		return false;
	}
	seconds = (v->len + VOICE_RATE / 2) / VOICE_RATE;
	rc = on_voice_report ? on_voice_report(g_call.gw, c->who.number, path, seconds, ref) : -ENOTSUP;
	if (rc < 0) {
		LOGPFSML(c->fi, LOGL_ERROR, "voice line: %s's recording %s (%u s) was not filed: %s\n", c->who.number,
			 path, seconds, strerror(-rc));
		snprintf(c->rec.note, sizeof(c->rec.note), "voice line: %u s recorded, the request could not be filed",
			 seconds);
		return false;
	}
	LOGPFSML(c->fi, LOGL_NOTICE, "voice line: %s recorded %u s (%s): request %s\n", c->who.number, seconds, path,
		 ref);
	snprintf(c->rec.note, sizeof(c->rec.note), "voice line: %u s recorded, request %s", seconds, ref);
	return true;
}

static void call_voice_prompt_cb(struct media_leg *m, void *data);

/* The caller is still on the line and the recording is over: "voice_thanks" when a request was
 * filed, then BYE. */
static void voice_stop(struct call *c, const char *why)
{
	const char *thanks[] = {"voice_thanks"};

	LOGPFSML(c->fi, LOGL_INFO, "voice line: recording stopped (%s)\n", why);
	if (!voice_file(c)) {
		call_end(c, why, NULL);
		return;
	}
	osmo_fsm_inst_state_chg(c->fi, CALL_ST_VOICE_THANKS, VOICE_THANKS_S, 0);
	if (!call_play(c->media, thanks, 1, call_voice_prompt_cb, c))
		call_end(c, why, NULL);
}

static void voice_dtmf(struct media_leg *m, char digit, void *data)
{
	struct call *c = data;

	(void)m;
	if (digit != '#' || c->fi->state != CALL_ST_VOICE || !c->voice->recording)
		return;
	voice_stop(c, "caller_done");
}

static void voice_record(struct call *c)
{
	c->voice->recording = true;
	media_leg_on_audio(c->media, voice_audio, c->voice);
	/* the time limit: the state's timeout */
	osmo_fsm_inst_state_chg(c->fi, CALL_ST_VOICE, g_call_cfg.voice_max_s, 0);
	LOGPFSML(c->fi, LOGL_NOTICE, "voice line: recording %s (at most %u s)\n", c->who.number,
		 g_call_cfg.voice_max_s);
}

static void call_voice_prompt_cb(struct media_leg *m, void *data)
{
	struct call *c = data;

	(void)m;
	osmo_fsm_inst_dispatch(c->fi, CALL_EV_PROMPT_DONE, NULL);
}

void call_voice_begin(struct call *c)
{
	const char *prompt[] = {"voice_prompt", "beep"};
	struct call_voice *v = talloc_zero(c, struct call_voice);

	c->voice = v;
	v->cap = (size_t)g_call_cfg.voice_max_s * VOICE_RATE + VOICE_RATE; /* the limit, and a second's slack */
	v->ulaw = talloc_size(v, v->cap);
	c->caller_rec.answered_at = gw_now();
	call_leg_save(&c->caller_rec);
	osmo_strlcpy(c->rec.state, "connected", sizeof(c->rec.state));
	osmo_strlcpy(c->rec.note, "voice line", sizeof(c->rec.note));
	call_save(c);
	media_leg_on_dtmf(c->media, voice_dtmf, c);
	LOGPFSML(c->fi, LOGL_NOTICE, "voice line: %s called %s\n", c->who.number, g_call_cfg.voice_code);
	/* the prompt cannot take longer than this: then the recording starts anyway */
	osmo_fsm_inst_state_chg(c->fi, CALL_ST_VOICE, 60, 0);
	if (!call_play(c->media, prompt, ARRAY_SIZE(prompt), call_voice_prompt_cb, c))
		voice_record(c);
}

void call_voice_event(struct osmo_fsm_inst *fi, uint32_t event, void *data)
{
	struct call *c = fi->priv;

	(void)data;
	switch (event) {
	case CALL_EV_PROMPT_DONE:
		if (fi->state == CALL_ST_VOICE_THANKS)
			call_end(c, "caller_done", NULL);
		else if (!c->voice->recording && !c->voice->filed)
			voice_record(c);
		break;
	case CALL_EV_CALLER_GONE:
		if (fi->state == CALL_ST_VOICE)
			voice_file(c);
		call_end(c, "caller_hangup", NULL);
		break;
	}
}

void call_voice_timeout(struct call *c)
{
	if (c->fi->state == CALL_ST_VOICE_THANKS) {
		call_end(c, "caller_done", NULL);
		return;
	}
	if (!c->voice->recording) {
		/* the prompt did not end in time (it is stuck or missing): record now */
		media_leg_stop(c->media);
		voice_record(c);
		return;
	}
	voice_stop(c, "voice_max");
}
