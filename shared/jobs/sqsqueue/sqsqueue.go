// Package sqsqueue is the jobs queue on SQS: what the job-worker Lambda's event source
// reads and what the functions that start jobs send to. It is apart from package jobs
// so that only the functions that start or run jobs link the SQS client (the generated
// main.go names Connect); the others start without it.
package sqsqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/switchboard-msp/switchboard/shared/awsconfig"
	"github.com/switchboard-msp/switchboard/shared/jobs"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// NewClient returns an SQS client, pointed at endpoint when it is not empty.
func NewClient(cfg aws.Config, endpoint string) *sqs.Client {
	return sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
}

// Queue sends job messages to an SQS queue.
type Queue struct {
	URL string

	once   sync.Once
	client *sqs.Client
	err    error
	load   func(ctx context.Context) (*sqs.Client, error)
}

var _ jobs.Queue = (*Queue)(nil)

// New returns the queue at url through client.
func New(client *sqs.Client, url string) *Queue {
	return &Queue{URL: url, client: client}
}

// lazy loads the AWS configuration on first use, for callers that have none at hand.
func lazy(url, endpoint string) *Queue {
	return &Queue{URL: url, load: func(ctx context.Context) (*sqs.Client, error) {
		cfg, err := awsconfig.Load(ctx)
		if err != nil {
			return nil, err
		}
		return NewClient(cfg, endpoint), nil
	}}
}

// Connect returns the queue of JOBS_QUEUE_URL (through SQS_ENDPOINT when set) on cfg,
// or nil without a queue URL (jobs then run in the process). The generated main.go of
// a function that starts or runs jobs passes it to lambdaentry.
func Connect(cfg aws.Config) (jobs.Queue, error) {
	url := os.Getenv(jobs.EnvQueueURL)
	if url == "" {
		return nil, nil
	}
	return New(NewClient(cfg, os.Getenv(jobs.EnvSQSEndpoint)), url), nil
}

// FromEnv returns the job service of this process's configuration with runners: the
// SQS queue of JOBS_QUEUE_URL (through SQS_ENDPOINT when set; cfg nil loads the AWS
// configuration on first use), or else jobs.NewLocal.
func FromEnv(st *store.Store, cfg *aws.Config, runners *jobs.Registry) *jobs.Service {
	url := os.Getenv(jobs.EnvQueueURL)
	if url == "" {
		return jobs.NewLocal(st, runners)
	}
	endpoint := os.Getenv(jobs.EnvSQSEndpoint)
	if cfg == nil {
		return jobs.NewService(st, lazy(url, endpoint), runners)
	}
	return jobs.NewService(st, New(NewClient(*cfg, endpoint), url), runners)
}

// Client returns the queue's SQS client.
func (q *Queue) Client(ctx context.Context) (*sqs.Client, error) {
	if q.load != nil {
		q.once.Do(func() { q.client, q.err = q.load(ctx) })
	}
	if q.client == nil && q.err == nil {
		return nil, errors.New("jobs: SQS queue without a client")
	}
	return q.client, q.err
}

// Enqueue sends {organizationId, jobId}.
func (q *Queue) Enqueue(ctx context.Context, orgID, jobID string) error {
	c, err := q.Client(ctx)
	if err != nil {
		return err
	}
	body, _ := json.Marshal(jobs.Message{OrganizationID: orgID, JobID: jobID})
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String(string(body))}); err != nil {
		return fmt.Errorf("send job %s to the queue: %w", jobID, err)
	}
	return nil
}

// Poll receives messages and hands them to w as the job-worker Lambda's event source
// mapping would, deleting those handled, until ctx ends: `make run` against moto's SQS,
// and tests. wait is the long-poll time of each receive (at most 20 s).
func (q *Queue) Poll(ctx context.Context, w *jobs.Worker, wait time.Duration) error {
	c, err := q.Client(ctx)
	if err != nil {
		return err
	}
	for ctx.Err() == nil {
		if _, err := q.PollOnce(ctx, c, w, wait); err != nil && ctx.Err() == nil {
			slog.WarnContext(ctx, "job queue poll failed", "err", err.Error())
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
	return nil
}

// PollOnce receives one batch, handles it and deletes the messages handled. It
// returns how many messages it received.
func (q *Queue) PollOnce(ctx context.Context, c *sqs.Client, w *jobs.Worker, wait time.Duration) (int, error) {
	out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(q.URL), MaxNumberOfMessages: 10, WaitTimeSeconds: int32(min(wait, 20*time.Second) / time.Second),
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount},
	})
	if err != nil {
		return 0, fmt.Errorf("receive from the job queue: %w", err)
	}
	if len(out.Messages) == 0 {
		return 0, nil
	}
	ev := events.SQSEvent{}
	for _, m := range out.Messages {
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
			Body: aws.ToString(m.Body), Attributes: m.Attributes, EventSource: "aws:sqs",
		})
	}
	res := w.HandleSQS(ctx, ev)
	failed := map[string]bool{}
	for _, f := range res.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	for _, r := range ev.Records {
		if failed[r.MessageId] {
			continue
		}
		if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(q.URL), ReceiptHandle: aws.String(r.ReceiptHandle)}); err != nil {
			return len(out.Messages), fmt.Errorf("delete message %s: %w", r.MessageId, err)
		}
	}
	return len(out.Messages), nil
}
