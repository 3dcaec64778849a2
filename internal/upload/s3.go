package upload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Options configures an S3-compatible store.
type S3Options struct {
	// Endpoint is the store's address, as a URL (https://oss-cn-hangzhou.aliyuncs.com,
	// http://127.0.0.1:9000); a bare host means https.
	Endpoint string
	// PublicEndpoint, when set, is the address clients reach for presigned
	// links, when the server itself uses another (an intranet endpoint).
	PublicEndpoint string
	Bucket, Region string
	AccessKey      string
	SecretKey      string
	// PathStyle puts the bucket in the path (MinIO); otherwise in the host
	// name (OSS and COS require it).
	PathStyle bool
	// Prefix is put before every key ("unionhall/").
	Prefix string
	// Transport is the HTTP transport (tests); nil for the default.
	Transport http.RoundTripper
}

// S3 stores files in an S3-compatible bucket, through minio-go: a small,
// well-kept client that speaks the S3 protocol to every store unions run
// on (OSS, COS, OBS, MinIO), path-style or virtual-host, with presigning
// done locally. The AWS SDK does the same with many more modules and AWS
// conventions the government clouds do not follow.
type S3 struct {
	c, public *minio.Client
	bucket    string
	prefix    string
}

// NewS3 makes the client; it does not contact the store (Ping does).
func NewS3(o S3Options) (*S3, error) {
	if o.Bucket == "" || o.AccessKey == "" || o.SecretKey == "" {
		return nil, errors.New("upload: S3 needs S3_BUCKET, S3_ACCESS_KEY and S3_SECRET_KEY")
	}
	if o.Region == "" {
		o.Region = "us-east-1" // set, so that presigning never asks the store for the bucket's region
	}
	c, err := newMinio(o, o.Endpoint)
	if err != nil {
		return nil, err
	}
	public := c
	if o.PublicEndpoint != "" {
		if public, err = newMinio(o, o.PublicEndpoint); err != nil {
			return nil, err
		}
	}
	return &S3{c: c, public: public, bucket: o.Bucket, prefix: o.Prefix}, nil
}

func newMinio(o S3Options, endpoint string) (*minio.Client, error) {
	if !strings.Contains(endpoint, "://") {
		endpoint = "https://" + endpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("upload: S3 endpoint %q must be scheme and host, such as https://oss-cn-hangzhou.aliyuncs.com", endpoint)
	}
	lookup := minio.BucketLookupDNS
	if o.PathStyle {
		lookup = minio.BucketLookupPath
	}
	return minio.New(u.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(o.AccessKey, o.SecretKey, ""),
		Secure:       u.Scheme == "https",
		Region:       o.Region,
		BucketLookup: lookup,
		Transport:    o.Transport,
		// A store that is down answers the member within the request's
		// deadline, not after minio-go's ten retries.
		MaxRetries: 2,
	})
}

func (*S3) Kind() string { return KindS3 }

func (s *S3) name(key string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	return s.prefix + key, nil
}

// Put uploads the object in one PUT when size is known and under
// minio-go's part size (16 MiB, above the upload limit), streaming r.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64, m Meta) error {
	name, err := s.name(key)
	if err != nil {
		return err
	}
	_, err = s.c.PutObject(ctx, s.bucket, name, r, size, minio.PutObjectOptions{
		ContentType:        m.ContentType,
		ContentDisposition: Disposition(m.FileName),
		CacheControl:       "private, no-store",
	})
	return err
}

// Open reads the object.
func (s *S3) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	name, err := s.name(key)
	if err != nil {
		return nil, err
	}
	obj, err := s.c.GetObject(ctx, s.bucket, name, minio.GetObjectOptions{})
	if err != nil {
		return nil, err
	}
	if _, err := obj.Stat(); err != nil { // the GET happens here, so a missing key is known now
		obj.Close()
		if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
		}
		return nil, err
	}
	return obj, nil
}

// Delete removes the object (S3 answers success for a missing one).
func (s *S3) Delete(ctx context.Context, key string) error {
	name, err := s.name(key)
	if err != nil {
		return err
	}
	return s.c.RemoveObject(ctx, s.bucket, name, minio.RemoveObjectOptions{})
}

// Ping checks the bucket answers.
func (s *S3) Ping(ctx context.Context) error {
	ok, err := s.c.BucketExists(ctx, s.bucket)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("upload: bucket %q does not exist", s.bucket)
	}
	return nil
}

// PresignGet is a GET link valid for ttl, served with m's Content-Type
// and Content-Disposition when m has them (else those Put stored). It is
// computed here, without a request to the store.
func (s *S3) PresignGet(ctx context.Context, key string, ttl time.Duration, m Meta) (string, error) {
	name, err := s.name(key)
	if err != nil {
		return "", err
	}
	q := url.Values{} // without m's fields, the object's own, which Put set
	if m.FileName != "" {
		q.Set("response-content-disposition", Disposition(m.FileName))
	}
	if m.ContentType != "" {
		q.Set("response-content-type", m.ContentType)
	}
	u, err := s.public.PresignedGetObject(ctx, s.bucket, name, ttl, q)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}
