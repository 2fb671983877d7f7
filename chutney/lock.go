package chutney

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// LockFile is the file in a network's dir that the process running the
// network holds an exclusive flock on, from before it touches the dir
// until the network stopped: two networks never share a dir.
const LockFile = "testnet.lock"

// ErrInUse is wrapped by the error of Start (and CheckDirFree) for a dir
// that another process's network holds.
var ErrInUse = errors.New("the network directory is in use")

// lockDir takes dir's lock without waiting. The lock is released when the
// returned file is closed or the process ends, however it ends.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, LockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock the network dir: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, inUse(dir)
		}
		return nil, fmt.Errorf("lock the network dir: %w", err)
	}
	return f, nil
}

// inUse says which process holds dir, as far as its network.json tells.
func inUse(dir string) error {
	who := "another relaybench process"
	if d, err := ReadDescription(dir); err == nil && d.OwnerPID > 0 {
		who = fmt.Sprintf("the network of process %d (state %s)", d.OwnerPID, d.State)
	}
	return fmt.Errorf("%w: %s is held by %s: use that network, stop it with `relaybench testnet down --dir %s`, or choose another --dir", ErrInUse, dir, who, dir)
}

// CheckDirFree returns an error wrapping ErrInUse when a network holds
// dir's lock, without taking it: a quick answer before starting an owner
// process, which takes the lock itself.
func CheckDirFree(dir string) error {
	f, err := lockDir(dir)
	if err != nil {
		return err
	}
	return f.Close()
}
