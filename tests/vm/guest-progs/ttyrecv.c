/* ttyrecv SOCKET: the receiving end of a runtime's --console-socket. Listens on SOCKET
 * (a stale file there is removed), takes one connection, receives the pty master sent
 * with SCM_RIGHTS, then copies what the container's terminal prints to stdout until it
 * closes. Each create or restore with a terminal gets its own ttyrecv. Built static by
 * tests/vm/run.sh (the guest has no compiler). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int receive_fd(int conn)
{
	char byte[256], cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { byte, sizeof(byte) };
	struct msghdr msg = { 0 };
	struct cmsghdr *c;
	int fd = -1;

	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	if (recvmsg(conn, &msg, 0) < 0)
		return -1;
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

int main(int argc, char **argv)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char buf[4096];
	int lsk, conn, master;
	ssize_t n;

	if (argc != 2 || strlen(argv[1]) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "usage: ttyrecv SOCKET\n");
		return 2;
	}
	strcpy(addr.sun_path, argv[1]);
	unlink(argv[1]);
	lsk = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lsk < 0 || bind(lsk, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(lsk, 1) < 0) {
		fprintf(stderr, "ttyrecv: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	conn = accept(lsk, NULL, NULL);
	master = conn < 0 ? -1 : receive_fd(conn);
	if (master < 0) {
		fprintf(stderr, "ttyrecv: no pty master received: %s\n", strerror(errno));
		return 1;
	}
	close(conn);
	close(lsk);
	unlink(argv[1]);
	while ((n = read(master, buf, sizeof(buf))) > 0) {
		if (write(1, buf, (size_t)n) != n)
			return 1;
	}
	return 0;
}
