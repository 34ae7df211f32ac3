package hub

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// Collection is a Hub collection (items may be truncated in listings).
type Collection struct {
	Slug  string `json:"slug"`
	Title string `json:"title"`
	Owner struct {
		Name string `json:"name"`
	} `json:"owner"`
	Items []struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	} `json:"items"`
}

// ListCollections lists every collection owned by owner, following Link
// pagination.
func (c *Client) ListCollections(ctx context.Context, owner string) ([]Collection, error) {
	u := c.api("/api/collections?owner=%s&limit=100", url.QueryEscape(owner))
	var all []Collection
	for pages := 0; u != "" && pages < 10000; pages++ {
		var page []Collection
		resp, err := c.getJSON(ctx, u, &page)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if u, err = c.nextLink(resp.Header.Get("Link")); err != nil {
			return nil, fmt.Errorf("collections of %s: %w", owner, err)
		}
	}
	return all, nil
}

// CreateCollection creates a collection titled title under namespace. When
// it already exists the error matches ErrConflict and the returned
// collection carries the slug from the 409 body if the Hub gave one.
func (c *Client) CreateCollection(ctx context.Context, namespace, title string) (*Collection, error) {
	var col Collection
	resp, err := c.postJSON(ctx, c.api("/api/collections"), map[string]any{"title": title, "namespace": namespace, "private": false},
		&col, false, http.StatusConflict)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusConflict {
		return &col, &Error{Method: "POST", Path: "/api/collections", Status: http.StatusConflict, Message: "collection exists"}
	}
	return &col, nil
}

// AddCollectionItem files a model into the collection slug. An item that is
// already there yields an error matching ErrConflict.
func (c *Client) AddCollectionItem(ctx context.Context, slug, itemType, id string) error {
	_, err := c.postJSON(ctx, c.api("/api/collections/%s/items", escapePath(slug)),
		map[string]any{"item": map[string]string{"type": itemType, "id": id}}, nil, true)
	return err
}

// GetCollection returns one collection.
func (c *Client) GetCollection(ctx context.Context, slug string) (*Collection, error) {
	var col Collection
	if _, err := c.getJSON(ctx, c.api("/api/collections/%s", escapePath(slug)), &col); err != nil {
		return nil, err
	}
	return &col, nil
}
