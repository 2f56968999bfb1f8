package jobs_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/awsconfig"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/jobs"
	"github.com/switchboard-msp/switchboard/shared/jobs/sqsqueue"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// motoQueue creates a fresh queue in moto's SQS and returns a client and its URL.
func motoQueue(t *testing.T) (*sqs.Client, string) {
	t.Helper()
	ep := testenv.MotoEndpoint(t)
	cfg, err := awsconfig.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Credentials = awsconfig.LocalCredentials()
	c := sqsqueue.NewClient(cfg, ep)
	out, err := c.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String("jobs-" + domain.NewID())})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = c.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: out.QueueUrl}) })
	return c, aws.ToString(out.QueueUrl)
}

// inQueue counts the queue's messages, waiting and in flight.
func inQueue(t *testing.T, c *sqs.Client, url string) (visible, inFlight int) {
	t.Helper()
	out, err := c.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		t.Fatal(err)
	}
	visible, _ = strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)])
	inFlight, _ = strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible)])
	return visible, inFlight
}

// TestSQSPath: a job started on moto's SQS is received by a polling worker, run,
// continued through the queue once, and finished; its messages are deleted. A body
// that is no job message stays on the queue for redelivery (and the dead-letter queue).
func TestSQSPath(t *testing.T) {
	c, url := motoQueue(t)
	st := testenv.NewTable(t, testenv.DynamoDB(t))
	r := newRows(st)
	var runs atomic.Int64
	inner := batchRunner(r, 6, 3, nil)
	reg := jobs.NewRegistry()
	reg.Register("import", func(ctx context.Context, env *jobs.Env, j *jobs.Job) error {
		if runs.Add(1) == 1 {
			// First invocation: one batch, then continue through the queue.
			if err := batchRunner(r, 3, 3, nil)(ctx, env, j); err != nil {
				return err
			}
			return jobs.ErrContinue
		}
		return inner(ctx, env, j)
	})
	q := sqsqueue.New(c, url)
	svc := &jobs.Service{Store: st, Queue: q, Runners: reg}
	w := &jobs.Worker{Store: st, Queue: q, Runners: reg}

	ctx, cancel := context.WithCancel(context.Background())
	polled := make(chan error, 1)
	go func() { polled <- q.Poll(ctx, w, time.Second) }()
	j, err := svc.Start(startCtx(), jobs.StartInput{Kind: "import", OrganizationID: "acme", Category: audit.Customer})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for getJob(t, st, j).Status != jobs.Succeeded && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	// The job is finished before the poller deletes the message that ran it.
	for v, f := inQueue(t, c, url); v+f > 0 && time.Now().Before(deadline); v, f = inQueue(t, c, url) {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-polled; err != nil {
		t.Fatal(err)
	}
	got := getJob(t, st, j)
	var cs counts
	_ = jsonUnmarshal(got.Result, &cs)
	if got.Status != jobs.Succeeded || got.Progress.Done != 6 || cs.Written != 6 || runs.Load() != 2 {
		t.Fatalf("job %+v after %d runs (result %s)", got, runs.Load(), got.Result)
	}
	if v, f := inQueue(t, c, url); v != 0 || f != 0 {
		t.Errorf("%d messages waiting and %d in flight after the job; want none", v, f)
	}

	// A message that names no job is reported, not deleted. (On a fresh queue: the
	// poller's last long poll, cancelled by the client, may still take a message.)
	c, url = motoQueue(t)
	q = sqsqueue.New(c, url)
	if _, err := c.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("garbage")}); err != nil {
		t.Fatal(err)
	}
	n, err := q.PollOnce(context.Background(), c, w, time.Second)
	if err != nil || n != 1 {
		t.Fatalf("PollOnce = %d, %v", n, err)
	}
	if v, f := inQueue(t, c, url); v+f != 1 {
		t.Errorf("the bad message was deleted (%d waiting, %d in flight)", v, f)
	}
}

// TestSQSFromEnv: with JOBS_QUEUE_URL (and SQS_ENDPOINT) set, FromEnv sends jobs to
// SQS, loading the AWS configuration on first use, as the local server does.
func TestSQSFromEnv(t *testing.T) {
	c, url := motoQueue(t)
	t.Setenv(jobs.EnvQueueURL, url)
	t.Setenv(jobs.EnvSQSEndpoint, testenv.MotoEndpoint(t))
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	st := testenv.NewTable(t, testenv.DynamoDB(t))
	reg := jobs.NewRegistry()
	reg.Register("import", func(context.Context, *jobs.Env, *jobs.Job) error { return nil })
	svc := sqsqueue.FromEnv(st, nil, reg)
	if _, ok := svc.Queue.(*sqsqueue.Queue); !ok {
		t.Fatalf("FromEnv with %s set: %T", jobs.EnvQueueURL, svc.Queue)
	}
	j, err := svc.Start(startCtx(), jobs.StartInput{Kind: "import", OrganizationID: "acme", Category: audit.Customer})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 2})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("receive: %v, %d messages", err, len(out.Messages))
	}
	m, err := jobs.ParseMessage(aws.ToString(out.Messages[0].Body))
	if err != nil || m != (jobs.Message{OrganizationID: "acme", JobID: j.ID}) {
		t.Errorf("message %q: %v", aws.ToString(out.Messages[0].Body), err)
	}
	if got := getJob(t, st, j); got.Status != store.JobQueued {
		t.Errorf("job = %+v", got)
	}
	t.Setenv(jobs.EnvQueueURL, "")
	if _, ok := sqsqueue.FromEnv(st, nil, reg).Queue.(*jobs.LocalQueue); !ok {
		t.Error("FromEnv without a queue URL is not the local queue")
	}
}
