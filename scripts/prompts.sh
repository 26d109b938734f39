#!/bin/sh
# Render the group call prompts (Mandarin, espeak-ng voice cmn) into OUTDIR/NAME.ul: 8 kHz G.711
# mu-law, converted by WAV2UL (scripts/wav2ul.c). Run by the Makefile at build time; no network.
#   sh scripts/prompts.sh OUTDIR WAV2UL
set -e
out=$1
wav2ul=$2
if [ -z "$out" ] || [ -z "$wav2ul" ]; then
	echo "usage: prompts.sh OUTDIR WAV2UL" >&2
	exit 2
fi
if ! command -v espeak-ng >/dev/null 2>&1; then
	echo "prompts.sh: error: espeak-ng is not installed, so the group call prompts cannot be rendered." >&2
	echo "prompts.sh: install it with 'make deps' (Debian package espeak-ng, listed in deps.txt)." >&2
	exit 1
fi
if ! espeak-ng --voices=cmn | grep -q ' cmn '; then
	echo "prompts.sh: error: espeak-ng has no Mandarin voice (cmn); install the full espeak-ng-data." >&2
	exit 1
fi
mkdir -p "$out"
# NAME|TEXT, one prompt a line; the digits name the building, unit and room to a neighbour
while IFS='|' read -r name text; do
	[ -n "$name" ] || continue
	tmp="$out/$name.ul.tmp"
	if ! espeak-ng -v cmn -s 150 --stdout "$text" | "$wav2ul" >"$tmp"; then
		rm -f "$tmp"
		echo "prompts.sh: error: rendering prompt '$name' ($text) failed" >&2
		exit 1
	fi
	mv "$tmp" "$out/$name.ul"
done <<'LIST'
calling|正在呼叫您的邻居，请稍候
neighbour_calls|您的邻居在呼救
press1|按1加入通话
joined|已加入通话
nobody|邻居暂未接听，正在转接网格员
no_group|您的号码未加入联户，请联系社区
building|幢
unit|单元
room|室
0|零
1|一
2|二
3|三
4|四
5|五
6|六
7|七
8|八
9|九
sos_alert|紧急求救
sos_pressed|的老人按下了求救按钮
press1_ack|收到请按1
acked|已确认，谢谢，请尽快联系
wearer_calling|正在接通老人的手表，请稍候
wearer_unreachable|无法接通老人的手表，请尽快上门查看
voice_prompt|请在嘀声后说出您要反映的问题，说完请挂机
voice_thanks|已收到，编号稍后短信告诉您
LIST
# the beep before the voice line records (no words, so not espeak-ng): 100 ms of silence, then
# 300 ms of 1 kHz at a quarter of full scale, G.711 mu-law written out as media_g711.c codes it
tmp="$out/beep.ul.tmp"
LC_ALL=C awk 'BEGIN {
	for (i = 0; i < 3200; i++) {
		x = i < 800 ? 0 : int(8000 * sin(2 * 3.14159265358979 * 1000 * i / 8000));
		sign = x < 0 ? 128 : 0;
		s = (x < 0 ? -x : x);
		s = (s > 32635 ? 32635 : s) + 132;
		e = 7;
		while (e > 0 && s < 128 * 2 ^ e)
			e--;
		m = int(s / 2 ^ (e + 3)) % 16;
		printf "%c", 255 - (sign + e * 16 + m);
	}
}' >"$tmp"
if [ "$(wc -c <"$tmp")" -ne 3200 ]; then
	rm -f "$tmp"
	echo "prompts.sh: error: rendering the beep failed" >&2
	exit 1
fi
mv "$tmp" "$out/beep.ul"
