throw new Error('boom while loading');
