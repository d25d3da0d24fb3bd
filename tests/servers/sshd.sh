# OpenSSH's sshd on 127.0.0.1 for the SFTP backend's tests (sourced by run_with.sh).
#
# start_sshd WORKDIR runs /usr/sbin/sshd with a config, host keys, a user key and an
# authorized_keys file of its own, all under WORKDIR, listening on 127.0.0.1:<free port> only.
# Logins are by public key as the current user (root in CI: sshd then needs its privilege
# separation directory /run/sshd, made here when missing; an ordinary user runs an unprivileged
# sshd that accepts logins as that same user). It exports:
#   LIFEBOAT_TEST_SFTP_HOST, _PORT, _USER      where to log in (127.0.0.1, the port, $USER)
#   LIFEBOAT_TEST_SFTP_IDENTITY                the user's private key (ed25519, no passphrase)
#   LIFEBOAT_TEST_SFTP_KNOWN_HOSTS             known_hosts holding sshd's host key
#   LIFEBOAT_TEST_SFTP_CHANGED_KNOWN_HOSTS     known_hosts holding ANOTHER key for the same host
#                                              (a changed host key, as after a MITM or reinstall)
#   LIFEBOAT_TEST_SFTP_OTHER_HOST_KEY          that other key's private file
#   LIFEBOAT_TEST_SFTP_WRONG_IDENTITY          a user key that authorized_keys does not list
#   LIFEBOAT_TEST_SFTP_CONFIG                  an ssh config with `Host lifeboat-test` (HostName,
#                                              Port, User, IdentityFile, UserKnownHostsFile)
#   LIFEBOAT_TEST_SFTP_ROOT                    a directory where tests put their repositories
#   LIFEBOAT_TEST_SFTP_PIDFILE                 sshd's pid file (its children are the sessions)
# stop_sshd WORKDIR stops it.

start_sshd() {
  local dir="$1"
  local port user
  port="$(free_port)"
  user="$(id -un)"
  mkdir -p "$dir/repos"
  chmod 700 "$dir"
  if [ "$(id -u)" = 0 ] && [ ! -d /run/sshd ]; then
    mkdir -p /run/sshd
    chmod 755 /run/sshd
  fi
  ssh-keygen -q -t ed25519 -N '' -C lifeboat-test-host -f "$dir/host_ed25519"
  ssh-keygen -q -t ed25519 -N '' -C lifeboat-test-other-host -f "$dir/other_host_ed25519"
  ssh-keygen -q -t ed25519 -N '' -C lifeboat-test-user -f "$dir/user_ed25519"
  ssh-keygen -q -t ed25519 -N '' -C lifeboat-test-wrong-user -f "$dir/wrong_user_ed25519"
  cp "$dir/user_ed25519.pub" "$dir/authorized_keys"
  echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$dir/host_ed25519.pub")" >"$dir/known_hosts"
  echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$dir/other_host_ed25519.pub")" \
    >"$dir/changed_known_hosts"

  local sftp_server=internal-sftp
  cat >"$dir/sshd_config" <<EOF
ListenAddress 127.0.0.1:$port
HostKey $dir/host_ed25519
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers $user
StrictModes no
UsePAM no
UseDNS no
MaxStartups 100
MaxSessions 100
LogLevel ERROR
Subsystem sftp $sftp_server
EOF
  cat >"$dir/ssh_config" <<EOF
Host lifeboat-test
  HostName 127.0.0.1
  Port $port
  User $user
  IdentityFile $dir/user_ed25519
  UserKnownHostsFile $dir/known_hosts
EOF
  /usr/sbin/sshd -t -f "$dir/sshd_config"
  # -D keeps it in the foreground of its own background job; -e logs to stderr (sshd.log).
  /usr/sbin/sshd -D -e -f "$dir/sshd_config" >"$dir/sshd.log" 2>&1 &
  echo $! >"$dir/sshd.pid.job"
  wait_port "$port" 20 "sshd on 127.0.0.1:$port" || {
    cat "$dir/sshd.log" >&2
    return 1
  }
  # Answers the SSH protocol, not just TCP: a host key scan must return our key.
  wait_for 20 "sshd's host key on 127.0.0.1:$port" \
    bash -c "ssh-keyscan -T 2 -t ed25519 -p $port 127.0.0.1 2>/dev/null | grep -q ssh-ed25519"

  export LIFEBOAT_TEST_SFTP_HOST=127.0.0.1
  export LIFEBOAT_TEST_SFTP_PORT="$port"
  export LIFEBOAT_TEST_SFTP_USER="$user"
  export LIFEBOAT_TEST_SFTP_IDENTITY="$dir/user_ed25519"
  export LIFEBOAT_TEST_SFTP_WRONG_IDENTITY="$dir/wrong_user_ed25519"
  export LIFEBOAT_TEST_SFTP_KNOWN_HOSTS="$dir/known_hosts"
  export LIFEBOAT_TEST_SFTP_CHANGED_KNOWN_HOSTS="$dir/changed_known_hosts"
  export LIFEBOAT_TEST_SFTP_OTHER_HOST_KEY="$dir/other_host_ed25519"
  export LIFEBOAT_TEST_SFTP_CONFIG="$dir/ssh_config"
  export LIFEBOAT_TEST_SFTP_ROOT="$dir/repos"
  export LIFEBOAT_TEST_SFTP_PIDFILE="$dir/sshd.pid.job"
}

stop_sshd() {
  local dir="$1"
  # sshd -D stays the process we started; TERM makes it close the listener. Sessions are its
  # children and end when their connections close (the test binary has exited by now); any
  # left are stopped by their own pid.
  local pid children
  if [ -f "$dir/sshd.pid.job" ]; then
    pid="$(cat "$dir/sshd.pid.job")"
    children="$(ps -o pid= --ppid "$pid" 2>/dev/null || true)"
    stop_pid "$dir/sshd.pid.job"
    for child in $children; do
      kill -TERM "$child" 2>/dev/null || true
    done
  fi
  rm -f "$dir/sshd.pid"
}
