// Package regfile opens, creates and renames the regular files of a mail
// store with one system call each.
//
// os.OpenFile, and os.Root's Open, hand every new descriptor to the
// runtime's network poller. On Linux that costs, for a regular file, two
// fcntl calls to set non-blocking mode, an epoll_ctl that fails (regular
// files cannot be polled) and two more fcntl calls to undo the first: five
// system calls on top of the open. os.Rename asks lstat(2) first whether the
// new name is a directory. A copy between two Maildirs opens two files and
// renames one for each message, so these calls were about a third of its
// system calls (strace -c of 10,000 messages: 81,378 fcntl, 20,344 failed
// epoll_ctl). The descriptors opened here are given to os.NewFile, which
// asks once whether they are non-blocking and, as they are not, leaves the
// poller out. Deadlines do not work on such files; mail files never need
// them.
//
// On systems other than Unix the functions are the os package's.
package regfile
