package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/problem"
)

// JobStatus is where a job is in its life.
type JobStatus string

// The statuses: queued → running → succeeded | failed.
const (
	JobQueued    JobStatus = "queued"
	JobRunning   JobStatus = "running"
	JobSucceeded JobStatus = "succeeded"
	JobFailed    JobStatus = "failed"
)

// Finished reports whether the job has reached its final status.
func (s JobStatus) Finished() bool { return s == JobSucceeded || s == JobFailed }

// JobStatuses lists every status.
func JobStatuses() []JobStatus { return []JobStatus{JobQueued, JobRunning, JobSucceeded, JobFailed} }

// JobProgress counts the units of work (rows, tenants, ...) done out of total; total is
// 0 while unknown.
type JobProgress struct {
	Done  int64 `json:"done"`
	Total int64 `json:"total"`
}

// JobError is one problem a job met, e.g. a bad field of one row of an import.
type JobError struct {
	// Line is the 1-based line (or row) of the input, when the error is about one.
	Line int64 `json:"line,omitempty"`
	// Field names the column or field, when the error is about one.
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// JobInput describes the blob a job was started with, kept in chunk items.
type JobInput struct {
	Size   int64  `json:"size"`
	Chunks int    `json:"chunks"`
	SHA256 string `json:"sha256"`
}

// Job is one piece of long work: its item is ORG#<orgId>#JOB / JOB#<jobId>, its input
// chunks ORG#<orgId>#JOB#<jobId> / INPUT#<nnnn>.
type Job struct {
	ID             string    `json:"id"`
	OrganizationID string    `json:"organizationId"`
	Kind           string    `json:"kind"`
	Status         JobStatus `json:"status"`
	// Progress is the checkpoint: work before Done is finished and never redone.
	Progress JobProgress `json:"progress"`
	// Errors are the first MaxJobErrors errors (fewer when they are long); ErrorCount
	// counts them all.
	Errors     []JobError `json:"errors"`
	ErrorCount int64      `json:"errorCount"`
	// Result is a JSON object the runner records, e.g. counts of created rows.
	Result json.RawMessage `json:"result,omitempty"`
	// Failure says why a failed job failed, in words a client may see.
	Failure string `json:"failure,omitempty"`
	// Params are the job's JSON parameters, given when it was started.
	Params json.RawMessage `json:"params,omitempty"`
	// Cursor is the runner's own position beyond Progress (e.g. a delta link).
	Cursor string    `json:"cursor,omitempty"`
	Input  *JobInput `json:"input,omitempty"`
	// Category is the audit category of the job's start and finish events.
	Category audit.Category `json:"category"`
	// CreatedBy and the origin fields are the request that started the job; the
	// runner's audit events are stamped with them.
	CreatedBy  audit.Actor       `json:"createdBy"`
	OnBehalfOf *audit.OnBehalfOf `json:"onBehalfOf,omitempty"`
	SourceIP   string            `json:"sourceIp,omitempty"`
	UserAgent  string            `json:"userAgent,omitempty"`
	CreatedAt  time.Time         `json:"createdAt"`
	UpdatedAt  time.Time         `json:"updatedAt"`
	StartedAt  *time.Time        `json:"startedAt,omitempty"`
	FinishedAt *time.Time        `json:"finishedAt,omitempty"`
	// Attempts counts the runs that claimed the job since it was queued or continued.
	Attempts int `json:"attempts"`
	// LeaseUntil is when the worker running the job is presumed dead.
	LeaseUntil *time.Time `json:"leaseUntil,omitempty"`
	Version    int64      `json:"version"`
}

// Origin is the audit origin of the request that started the job.
func (j Job) Origin() audit.Origin {
	return audit.Origin{Actor: j.CreatedBy, SourceIP: j.SourceIP, UserAgent: j.UserAgent, OnBehalfOf: j.OnBehalfOf}
}

// Limits of job items.
const (
	// JobRetention keeps a job (and its input) this long after it finishes; a job that
	// never finishes expires this long after it was created.
	JobRetention = 30 * 24 * time.Hour
	// JobInputChunkSize is the largest chunk item's data, well under DynamoDB's 400 KB.
	JobInputChunkSize = 300 * 1000
	// MaxJobInput is the largest input a job accepts.
	MaxJobInput = 10 << 20
	// inlineJobInput is the largest input written in the job's own transaction (whose
	// total is capped at 4 MB); larger inputs are written before it.
	inlineJobInput = 2 << 20
	// MaxJobErrors is how many errors a job keeps; ErrorCount counts the rest.
	MaxJobErrors = 1000
	// maxJobErrorBytes bounds the kept errors so the item stays far below 400 KB.
	maxJobErrorBytes = 200 * 1000
	// maxJobErrorText bounds one error's message and field.
	maxJobErrorText = 300
)

// ErrJobChanged: the job was written by someone else since it was read (another
// worker claimed or advanced it); the caller must not write it.
var ErrJobChanged = errors.New("job changed by another writer")

const (
	prefixJob   = "JOB#"
	prefixInput = "INPUT#"
)

func jobPK(orgID string) string             { return orgPartition(orgID, "JOB") }
func jobSK(jobID string) string             { return prefixJob + jobID }
func jobInputPK(orgID, jobID string) string { return orgPartition(orgID, "JOB#"+jobID) }
func inputSK(i int) string                  { return fmt.Sprintf("%s%04d", prefixInput, i) }

func (s *Store) jobItem(j Job) (map[string]types.AttributeValue, error) {
	exp := j.CreatedAt.Add(JobRetention)
	if j.FinishedAt != nil {
		exp = j.FinishedAt.Add(JobRetention)
	}
	return item(j, "Job", jobPK(j.OrganizationID), jobSK(j.ID), map[string]types.AttributeValue{AttrTTL: num(exp.Unix())})
}

// AppendJobErrors adds errs to j's kept errors within the limits and counts them all.
func AppendJobErrors(j *Job, errs ...JobError) {
	size := 0
	for _, e := range j.Errors {
		size += len(e.Field) + len(e.Message) + 32
	}
	for _, e := range errs {
		j.ErrorCount++
		e.Field = clip(e.Field, maxJobErrorText)
		e.Message = clip(e.Message, maxJobErrorText)
		cost := len(e.Field) + len(e.Message) + 32
		if len(j.Errors) >= MaxJobErrors || size+cost > maxJobErrorBytes {
			continue
		}
		size += cost
		j.Errors = append(j.Errors, e)
	}
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// CreateJob writes a new queued job with its audit event, and its input split into
// chunk items: in the same transaction when the input is small, else the chunks first
// (they expire with the job, so a failed creation leaves nothing for long). It fills
// in the job's version, status, times and input description and returns it.
// Errors: ErrNoOrganization; a 409 problem when the id is taken; ErrJobInputTooLarge.
func (s *Store) CreateJob(ctx context.Context, j Job, input []byte, ev audit.Event) (Job, error) {
	if j.OrganizationID == "" {
		return Job{}, ErrNoOrganization
	}
	if j.ID == "" || j.Kind == "" {
		return Job{}, fmt.Errorf("create job: id and kind are required")
	}
	if len(input) > MaxJobInput {
		return Job{}, ErrJobInputTooLarge
	}
	now := s.now()
	j.Status, j.Version, j.Attempts = JobQueued, 1, 0
	j.CreatedAt, j.UpdatedAt = now, now
	j.StartedAt, j.FinishedAt, j.LeaseUntil = nil, nil, nil
	if j.Errors == nil {
		j.Errors = []JobError{}
	}
	var chunks []map[string]types.AttributeValue
	if len(input) > 0 {
		sum := sha256.Sum256(input)
		j.Input = &JobInput{Size: int64(len(input)), SHA256: hex.EncodeToString(sum[:])}
		exp := num(now.Add(JobRetention).Unix())
		for i := 0; i*JobInputChunkSize < len(input); i++ {
			part := input[i*JobInputChunkSize : min((i+1)*JobInputChunkSize, len(input))]
			chunks = append(chunks, map[string]types.AttributeValue{
				AttrPK: str(jobInputPK(j.OrganizationID, j.ID)), AttrSK: str(inputSK(i)),
				AttrType: str("JobInput"), "data": &types.AttributeValueMemberB{Value: part}, AttrTTL: exp,
			})
		}
		j.Input.Chunks = len(chunks)
	}
	m, err := s.jobItem(j)
	if err != nil {
		return Job{}, err
	}
	items := []types.TransactWriteItem{{Put: &types.Put{
		TableName: aws.String(s.table), Item: m, ConditionExpression: aws.String("attribute_not_exists(PK)"),
	}}}
	if len(input) <= inlineJobInput {
		for _, c := range chunks {
			items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: c}})
		}
	} else if err := s.putChunks(ctx, chunks); err != nil {
		return Job{}, fmt.Errorf("create job %s: input: %w", j.ID, err)
	}
	ev.OrganizationID = j.OrganizationID
	if err := s.transact(ctx, items, &ev); err != nil {
		var te *TxError
		if errors.As(err, &te) && te.ConditionFailed(0) {
			return Job{}, problem.Conflictf("job-exists", "job %s already exists", j.ID)
		}
		return Job{}, fmt.Errorf("create job %s: %w", j.ID, err)
	}
	return j, nil
}

// ErrJobInputTooLarge: the input is over MaxJobInput.
var ErrJobInputTooLarge = fmt.Errorf("job input is larger than %d bytes", MaxJobInput)

// putChunks writes chunk items, a few at a time.
func (s *Store) putChunks(ctx context.Context, chunks []map[string]types.AttributeValue) error {
	const parallel = 4
	sem := make(chan struct{}, parallel)
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for _, c := range chunks {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: c})
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

// GetJob reads a job with a consistent read. Errors: ErrNoOrganization; ErrNotFound
// (also when it is another organization's, or expired).
func (s *Store) GetJob(ctx context.Context, orgID, jobID string) (Job, error) {
	if orgID == "" {
		return Job{}, ErrNoOrganization
	}
	if jobID == "" {
		return Job{}, ErrNotFound
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: key(jobPK(orgID), jobSK(jobID)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Job{}, fmt.Errorf("get job %s: %w", jobID, err)
	}
	if out.Item == nil || expired(out.Item, s.now()) {
		return Job{}, ErrNotFound
	}
	var j Job
	return j, decode(out.Item, &j)
}

// putJob writes j as the next version of the job, conditioned on the stored version
// being j.Version, with ev (when given) in the same transaction. It returns j as
// written. Errors: ErrJobChanged.
func (s *Store) putJob(ctx context.Context, j Job, ev *audit.Event) (Job, error) {
	if j.OrganizationID == "" {
		return Job{}, ErrNoOrganization
	}
	expected := j.Version
	j.Version++
	j.UpdatedAt = s.now()
	if j.Errors == nil {
		j.Errors = []JobError{}
	}
	m, err := s.jobItem(j)
	if err != nil {
		return Job{}, err
	}
	cond := aws.String("version = :expected")
	vals := map[string]types.AttributeValue{":expected": num(expected)}
	if ev == nil {
		_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: m,
			ConditionExpression: cond, ExpressionAttributeValues: vals})
		if isConditionFailed(err) {
			return Job{}, ErrJobChanged
		}
	} else {
		ev.OrganizationID = j.OrganizationID
		err = s.transact(ctx, []types.TransactWriteItem{{Put: &types.Put{TableName: aws.String(s.table), Item: m,
			ConditionExpression: cond, ExpressionAttributeValues: vals}}}, ev)
		var te *TxError
		if errors.As(err, &te) && te.ConditionFailed(0) {
			return Job{}, ErrJobChanged
		}
	}
	if err != nil {
		return Job{}, fmt.Errorf("write job %s: %w", j.ID, err)
	}
	return j, nil
}

// ClaimJob marks the job, as read, running for one more attempt, held until
// leaseUntil. Errors: ErrJobChanged when someone else wrote it since.
func (s *Store) ClaimJob(ctx context.Context, j Job, leaseUntil time.Time) (Job, error) {
	now := s.now()
	j.Status = JobRunning
	j.Attempts++
	if j.StartedAt == nil {
		j.StartedAt = &now
	}
	j.LeaseUntil = &leaseUntil
	return s.putJob(ctx, j, nil)
}

// SaveProgress records j's checkpoint (progress, errors, cursor, result, lease) as the
// next version, conditioned on the stored version being j.Version, so two workers can
// never both advance a job from the same state. It returns the new version.
// Errors: ErrJobChanged.
func (s *Store) SaveProgress(ctx context.Context, j Job) (int64, error) {
	if j.Status != JobRunning {
		return 0, fmt.Errorf("save progress of job %s: it is %s, not running", j.ID, j.Status)
	}
	out, err := s.putJob(ctx, j, nil)
	if err != nil {
		return 0, err
	}
	return out.Version, nil
}

// ReleaseJob gives up the job's lease so the next delivery can claim it at once; with
// resetAttempts (a planned continuation) the attempts start again from zero.
// Errors: ErrJobChanged.
func (s *Store) ReleaseJob(ctx context.Context, j Job, resetAttempts bool) (Job, error) {
	j.LeaseUntil = nil
	if resetAttempts {
		j.Attempts = 0
	}
	return s.putJob(ctx, j, nil)
}

// FinishJob records the job's final status (and, when failed, why) with ev, when
// given, in the same transaction. The job then expires JobRetention after now.
// Errors: ErrJobChanged.
func (s *Store) FinishJob(ctx context.Context, j Job, status JobStatus, failure string, ev *audit.Event) (Job, error) {
	if !status.Finished() {
		return Job{}, fmt.Errorf("finish job %s: %s is not a final status", j.ID, status)
	}
	now := s.now()
	j.Status, j.FinishedAt, j.LeaseUntil = status, &now, nil
	j.Failure = ""
	if status == JobFailed {
		j.Failure = failure
	}
	return s.putJob(ctx, j, ev)
}

// ReadInput returns the input a job was started with, checked against its size and
// hash. Errors: ErrNoOrganization; ErrNotFound (no such job, no input, or expired).
func (s *Store) ReadInput(ctx context.Context, orgID, jobID string) ([]byte, error) {
	j, err := s.GetJob(ctx, orgID, jobID)
	if err != nil {
		return nil, err
	}
	return s.ReadJobInput(ctx, j)
}

// ReadJobInput is ReadInput of a job already read.
func (s *Store) ReadJobInput(ctx context.Context, j Job) ([]byte, error) {
	if j.OrganizationID == "" {
		return nil, ErrNoOrganization
	}
	if j.Input == nil {
		return nil, ErrNotFound
	}
	pk := jobInputPK(j.OrganizationID, j.ID)
	var buf bytes.Buffer
	buf.Grow(int(j.Input.Size))
	var start map[string]types.AttributeValue
	n := 0
	now := s.now()
	for {
		out, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName: aws.String(s.table), KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :in)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pk), ":in": str(prefixInput)},
			ConsistentRead:            aws.Bool(true), ExclusiveStartKey: start,
		})
		if err != nil {
			return nil, fmt.Errorf("read input of job %s: %w", j.ID, err)
		}
		for _, it := range out.Items {
			sk, _ := it[AttrSK].(*types.AttributeValueMemberS)
			data, ok := it["data"].(*types.AttributeValueMemberB)
			if sk == nil || !ok || sk.Value != inputSK(n) {
				return nil, fmt.Errorf("read input of job %s: chunk %d is missing", j.ID, n)
			}
			if expired(it, now) {
				return nil, ErrNotFound
			}
			buf.Write(data.Value)
			n++
		}
		if len(out.LastEvaluatedKey) == 0 {
			break
		}
		start = out.LastEvaluatedKey
	}
	sum := sha256.Sum256(buf.Bytes())
	if n != j.Input.Chunks || int64(buf.Len()) != j.Input.Size || hex.EncodeToString(sum[:]) != j.Input.SHA256 {
		return nil, fmt.Errorf("read input of job %s: %d chunks, %d bytes do not match the job's input", j.ID, n, buf.Len())
	}
	return buf.Bytes(), nil
}
