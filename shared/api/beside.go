package api

// beside starts read at once and returns what waits for its answer: for a read that
// does not depend on the one made before it, such as a customer's contact beside the
// customer, whose visibility to the caller decides whether the contact is answered at
// all. The wait is to be called once.
func beside[T any](read func() (T, error)) func() (T, error) {
	type answer struct {
		v   T
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		v, err := read()
		ch <- answer{v, err}
	}()
	return func() (T, error) {
		a := <-ch
		return a.v, a.err
	}
}
