#!/usr/bin/perl
# HAProxy's access log, passed on in batches: copies stdin (a pipe HAProxy writes one line per request to) to stdout
# unchanged, reading what has gathered every 50 ms. A reader that waits on the pipe is woken by every line: in a
# container that is Docker's log copier, each wake-up costing context switches on the balancer's CPUs (measured on this
# project's 2-core machine: 2.4 context switches and 176 us of HAProxy CPU per proxied request writing straight to
# Docker's pipe, 1.45 and 115-125 us through this relay). Run unprivileged by images/balancer/run.sh.
# HAProxy writes its log without blocking: if this relay fell behind by a full pipe (1 MB), HAProxy would drop lines
# and count them (DroppedLogs in `show info`), never wait.
# SIGTERM, SIGINT and SIGHUP are ignored: it ends when HAProxy has closed the pipe and every line is out.
use strict;
use warnings;

$SIG{TERM} = $SIG{INT} = $SIG{HUP} = 'IGNORE';
use constant { F_SETPIPE_SZ => 1031, PIPE_BYTES => 1 << 20, PAUSE_S => 0.05 };
# A bigger pipe holds more than a pause's worth of lines; where the kernel refuses (pipe-max-size), the default stays.
fcntl(STDIN, F_SETPIPE_SZ, PIPE_BYTES) if -p STDIN;
binmode STDIN;
binmode STDOUT;
my $buf;
while (1) {
    my $n = sysread(STDIN, $buf, PIPE_BYTES);
    if (!defined $n) {
        next if $!{EINTR};
        die "balancer-log-relay: read: $!\n";
    }
    last if $n == 0;
    my $off = 0;
    while ($off < $n) {
        my $w = syswrite(STDOUT, $buf, $n - $off, $off);
        if (!defined $w) {
            next if $!{EINTR};
            die "balancer-log-relay: write: $!\n";
        }
        $off += $w;
    }
    select(undef, undef, undef, PAUSE_S);
}
