package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
)

// Documents: PK customer partition, SK "DOC#<id>"; GSI1 "…#CUSTOMER#<id>#DOCS" /
// "<created>#<id>", listed newest first. The record holds the object's key; the bytes
// are in the documents bucket (shared/objects).

func (s *Store) documentItem(orgID string, d domain.Document) (map[string]types.AttributeValue, error) {
	return item(d, "Document", customerPK(orgID, d.CustomerID), prefixDocument+d.ID, map[string]types.AttributeValue{
		AttrGSI1PK: str(customerIndexPK(orgID, d.CustomerID, "DOCS")), AttrGSI1SK: str(sortTime(d.CreatedAt) + "#" + d.ID),
	})
}

// CreateDocument writes a document record, moves the customer's document count and
// writes the audit event, in one transaction. Errors: ErrNotFound when the customer
// does not exist.
func (s *Store) CreateDocument(ctx context.Context, orgID string, d domain.Document, ev audit.Event) error {
	it, err := s.documentItem(orgID, d)
	if err != nil {
		return err
	}
	return s.createDetail(ctx, orgID, d.CustomerID, "document", d.ID, it, map[string]int64{counterDocuments: 1}, ev)
}

// GetDocument reads one document record of a customer. Errors: ErrNotFound.
func (s *Store) GetDocument(ctx context.Context, orgID, customerID, documentID string) (domain.Document, error) {
	return getDetail[domain.Document](ctx, s, orgID, customerID, "document", prefixDocument, documentID)
}

// ListDocuments returns one page of a customer's documents, newest first.
func (s *Store) ListDocuments(ctx context.Context, orgID, customerID string, page Page) ([]domain.Document, string, error) {
	return listDetail[domain.Document](ctx, s, orgID, customerID, "documents", IndexGSI1, customerIndexPK(orgID, customerID, "DOCS"), false, page)
}

// DeleteDocument deletes a document record, moves the customer's document count and
// writes the audit event, in one transaction. The object is the caller's to delete.
// Errors: ErrNotFound.
func (s *Store) DeleteDocument(ctx context.Context, orgID, customerID, documentID string, ev audit.Event) error {
	if orgID == "" {
		return ErrNoOrganization
	}
	ev.OrganizationID = orgID
	err := s.transact(ctx, []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: aws.String(s.table), Key: key(customerPK(orgID, customerID), prefixDocument+documentID),
			ConditionExpression: aws.String("attribute_exists(PK)")}},
		s.detailCounters(orgID, customerID, map[string]int64{counterDocuments: -1}),
	}, &ev)
	var te *TxError
	if errors.As(err, &te) && (te.ConditionFailed(0) || te.ConditionFailed(1)) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("delete document %s: %w", documentID, err)
	}
	return nil
}
