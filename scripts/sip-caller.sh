#!/usr/bin/env bash
# A real SIP caller: baresip (inside the Asterisk root) registers nothing, dials the `testcaller` endpoint
# into EXTEN of ari-agent-incoming, plays IN.wav as its microphone and records what it hears to OUT.wav.
#   scripts/sip-caller.sh IN.wav OUT.wav [EXTEN=100] [SECONDS=20]
# IN.wav may be any WAV sox reads; OUT.wav is 8 kHz mono 16-bit PCM. The call lasts SECONDS (baresip
# hangs up then) unless Asterisk hangs up first. Exit status 0 if the call was answered, 1 if not.
# Environment: SIP_PORT, TESTCALLER_PASSWORD (asterisk-env.sh), SIP_CALLER_LOG (default .run/sip-caller.log).
source "$(dirname "${BASH_SOURCE[0]}")/asterisk-env.sh"

[ $# -ge 2 ] || die "usage: $0 IN.wav OUT.wav [EXTEN] [SECONDS]"
in_wav=$1
out_wav=$2
exten=${3:-100}
seconds=${4:-20}
[ -f "$in_wav" ] || die "no such file: $in_wav"
[ -x "$ASTERISK_ROOT/usr/bin/baresip" ] || die "no baresip in $ASTERISK_ROOT: run scripts/setup-asterisk.sh"
apt_install sox
log=${SIP_CALLER_LOG:-$RUN_DIR/sip-caller.log}

# A private directory inside the root: the chrooted baresip sees only that tree.
work_rel=$(mktemp -u /tmp/ari-agent-sip-caller.XXXXXX)
work="$ASTERISK_ROOT$work_rel"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT

# 8 kHz mono 16-bit: PCMU's own rate, so baresip does not resample the microphone.
sox "$in_wav" -r 8000 -c 1 -b 16 -e signed-integer "$work/in.wav"

# Ports of this caller: derived from the pid so parallel callers do not collide with each other or with
# Asterisk's RTP range (31000-31999).
sip_local=$((20000 + ($$ % 5000) * 2))
rtp_low=$((32000 + ($$ % 1000) * 4))

cat >"$work/config" <<CONF
poll_method epoll
sip_listen 127.0.0.1:$sip_local
sip_trans_def udp
call_local_timeout 120
audio_path /usr/share/baresip
audio_player aufile,$work_rel/out.wav
audio_source aufile,$work_rel/in.wav
audio_alert aufile,/dev/null
ausrc_srate 8000
auplay_srate 8000
ausrc_channels 1
auplay_channels 1
audio_buffer 20-160
rtp_ports $rtp_low-$((rtp_low + 3))
rtp_stats no
net_interface 127.0.0.1
module_path /usr/lib/baresip/modules
module g711.so
module aufile.so
module_app account.so
module_app menu.so
CONF
# regint=0: no REGISTER, the endpoint is matched by the From user and authenticated on the INVITE.
cat >"$work/accounts" <<ACC
<sip:testcaller@127.0.0.1:$SIP_PORT;transport=udp>;auth_user=testcaller;auth_pass=$TESTCALLER_PASSWORD;regint=0;audio_codecs=PCMU;outbound="sip:127.0.0.1:$SIP_PORT;transport=udp"
ACC

step "SIP call testcaller -> $exten ($(soxi -D "$in_wav" 2>/dev/null || echo '?') s of audio, ${seconds} s max)"
rc=0
chroot "$ASTERISK_ROOT" /usr/bin/baresip -f "$work_rel" -e "/dial sip:$exten@127.0.0.1:$SIP_PORT" \
    -t "$seconds" </dev/null >"$log" 2>&1 || rc=$?
answered=no
grep -q -i "call established" "$log" && answered=yes
if [ -s "$work/out.wav" ]; then
    cp "$work/out.wav" "$out_wav"
else
    answered=no
fi
step_done "answered=$answered, baresip exit $rc, log $log"
[ "$answered" = yes ] || { tail -20 "$log" >&2; exit 1; }
